using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Cli.Common;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Cray.Cli.Bootprep;

/// <summary>
/// A YAML file read as JSON values with the line of each value kept, so problems can name where
/// they are. Plain scalars resolve as PyYAML's safe loader resolves them (YAML 1.1: yes/no/on/off
/// are booleans), because the reference reads these files with it.
/// </summary>
public sealed partial class YamlDocument
{
    private readonly Dictionary<string, int> lines;

    private YamlDocument(string path, JsonNode? root, Dictionary<string, int> lines)
    {
        Path = path;
        Root = root;
        this.lines = lines;
    }

    public string Path { get; }

    public JsonNode? Root { get; }

    /// <summary>The 1-based line of the value at a JSON pointer, if the file has it.</summary>
    public int? LineOf(string pointer) => lines.TryGetValue(pointer, out var line) ? line : null;

    public static YamlDocument Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Cannot read {path}: {exception.Message}", exitCode: 1);
        }
        return Parse(path, text);
    }

    public static YamlDocument Parse(string path, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException exception)
        {
            throw new CliException($"{path}: not valid YAML at line {exception.Start.Line}, column {exception.Start.Column}: {Innermost(exception).Message}", exitCode: 1);
        }
        if (stream.Documents.Count > 1)
        {
            throw new CliException($"{path}: holds {stream.Documents.Count} YAML documents; give one.", exitCode: 1);
        }
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var root = stream.Documents.Count == 0 ? null : Convert(path, stream.Documents[0].RootNode, "", lines);
        return new YamlDocument(path, root, lines);
    }

    private static Exception Innermost(Exception exception) => exception.InnerException is { } inner ? Innermost(inner) : exception;

    private static JsonNode? Convert(string path, YamlNode node, string pointer, Dictionary<string, int> lines)
    {
        lines[pointer] = (int)node.Start.Line;
        switch (node)
        {
            case YamlMappingNode mapping:
                var result = new JsonObject();
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: { } key })
                    {
                        throw new CliException($"{path}: line {keyNode.Start.Line}: a mapping key must be a plain text.", exitCode: 1);
                    }
                    result[key] = Convert(path, valueNode, pointer + "/" + key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal), lines);
                }
                return result;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                for (var index = 0; index < sequence.Children.Count; index++)
                {
                    array.Add(Convert(path, sequence.Children[index], $"{pointer}/{index}", lines));
                }
                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new CliException($"{path}: line {node.Start.Line}: unsupported YAML node.", exitCode: 1);
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain || scalar.Tag == "tag:yaml.org,2002:str")
        {
            return JsonValue.Create(text);
        }
        if (NullText().IsMatch(text))
        {
            return null;
        }
        if (TrueText().IsMatch(text))
        {
            return JsonValue.Create(true);
        }
        if (FalseText().IsMatch(text))
        {
            return JsonValue.Create(false);
        }
        if (IntegerText().IsMatch(text) && long.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }
        if (FloatText().IsMatch(text) && double.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }
        return JsonValue.Create(text);
    }

    [GeneratedRegex("^(?:~|null|Null|NULL|)$")]
    private static partial Regex NullText();

    [GeneratedRegex("^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$")]
    private static partial Regex TrueText();

    [GeneratedRegex("^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$")]
    private static partial Regex FalseText();

    [GeneratedRegex("^[-+]?(?:0|[1-9][0-9_]*)$")]
    private static partial Regex IntegerText();

    [GeneratedRegex(@"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+][0-9]+)?$")]
    private static partial Regex FloatText();

    /// <summary>A JSON pointer as the file's reader writes a place: <c>images[1].base.ims</c>.</summary>
    public static string PathText(string pointer)
    {
        if (pointer.Length == 0)
        {
            return "the file";
        }
        var builder = new System.Text.StringBuilder();
        foreach (var segment in pointer[1..].Split('/'))
        {
            var name = segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (name.Length > 0 && name.All(char.IsAsciiDigit))
            {
                builder.Append('[').Append(name).Append(']');
            }
            else
            {
                if (builder.Length > 0)
                {
                    builder.Append('.');
                }
                builder.Append(name);
            }
        }
        return builder.ToString();
    }

    /// <summary>Where a value is, for a message: its path and, when known, its line.</summary>
    public string Place(string pointer)
    {
        var line = LineOf(pointer);
        return line is null ? PathText(pointer) : $"{PathText(pointer)} (line {line})";
    }
}
