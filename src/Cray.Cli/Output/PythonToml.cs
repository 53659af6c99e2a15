using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cray.Cli.Output;

/// <summary>
/// TOML text as the reference CLI prints it (the Python <c>toml</c> package): scalars first, then
/// <c>[table]</c> and <c>[[array.of.tables]]</c> sections; arrays as <c>[ "a", "b",]</c>; nulls dropped;
/// an empty table still prints its header.
/// </summary>
public static partial class PythonToml
{
    public static string Format(JsonObject document)
    {
        var (text, sections) = DumpSections(document, "");
        var output = new StringBuilder(text);
        while (sections.Count > 0)
        {
            var next = new List<(string Name, JsonObject Table)>();
            foreach (var (name, table) in sections)
            {
                var (body, nested) = DumpSections(table, name);
                if (body.Length > 0 || nested.Count == 0)
                {
                    if (output.Length > 0 && !EndsWithBlankLine(output))
                    {
                        output.Append('\n');
                    }
                    output.Append('[').Append(name).Append("]\n").Append(body);
                }
                next.AddRange(nested.Select(child => (name + "." + child.Name, child.Table)));
            }
            sections = next;
        }
        return output.ToString();
    }

    private static bool EndsWithBlankLine(StringBuilder text)
        => text.Length >= 2 && text[^1] == '\n' && text[^2] == '\n';

    private static (string Text, List<(string Name, JsonObject Table)> Sections) DumpSections(JsonObject table, string parent)
    {
        if (parent.Length > 0 && !parent.EndsWith('.'))
        {
            parent += ".";
        }
        var scalars = new StringBuilder();
        var arrays = new StringBuilder();
        var sections = new List<(string, JsonObject)>();
        foreach (var (rawKey, value) in table)
        {
            var key = BareKey().IsMatch(rawKey) ? rawKey : QuoteString(rawKey);
            if (value is JsonObject child)
            {
                sections.Add((key, child));
            }
            else if (value is JsonArray list && list.Any(item => item is JsonObject))
            {
                foreach (var item in list)
                {
                    var tableText = new StringBuilder("\n");
                    arrays.Append("[[").Append(parent).Append(key).Append("]]\n");
                    var (itemText, itemSections) = DumpSections(item as JsonObject ?? [], parent + key);
                    if (itemText.Length > 0)
                    {
                        if (itemText[0] == '[')
                        {
                            tableText.Append(itemText);
                        }
                        else
                        {
                            arrays.Append(itemText);
                        }
                    }
                    while (itemSections.Count > 0)
                    {
                        var deeper = new List<(string, JsonObject)>();
                        foreach (var (sectionName, sectionTable) in itemSections)
                        {
                            var (sectionText, sectionChildren) = DumpSections(sectionTable, parent + key + "." + sectionName);
                            if (sectionText.Length > 0)
                            {
                                tableText.Append('[').Append(parent).Append(key).Append('.').Append(sectionName).Append("]\n").Append(sectionText);
                            }
                            deeper.AddRange(sectionChildren.Select(grandchild => (sectionName + "." + grandchild.Name, grandchild.Table)));
                        }
                        itemSections = deeper;
                    }
                    arrays.Append(tableText);
                }
            }
            else if (value is not null)
            {
                scalars.Append(key).Append(" = ").Append(Value(value)).Append('\n');
            }
        }
        scalars.Append(arrays);
        return (scalars.ToString(), sections);
    }

    private static string Value(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray array => "[" + string.Concat(array.Select(item => " " + Value(item) + ",")) + "]",
        JsonObject obj => "{ " + string.Join(", ", obj.Select(pair => pair.Key + " = " + Value(pair.Value))) + " }",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => QuoteString(value.GetValue<string>()),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.ToJsonString(),
        },
        _ => node.ToJsonString(),
    };

    private static string QuoteString(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var character in value)
        {
            text.Append(character switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when character < 0x20 || character == 0x7f => "\\u" + ((int)character).ToString("x4", CultureInfo.InvariantCulture),
                _ => character.ToString(),
            });
        }
        return text.Append('"').ToString();
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex BareKey();
}
