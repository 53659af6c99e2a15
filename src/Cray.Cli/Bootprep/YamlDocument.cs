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

    /// <summary>Far beyond any real input file; what is past them is an attack or a mistake, refused before it costs memory.</summary>
    private const int MaximumLength = 4 << 20;
    private const int MaximumNodes = 200_000;
    private const int MaximumDepth = 32;

    public static YamlDocument Parse(string path, string text)
    {
        if (text.Length > MaximumLength)
        {
            throw new CliException($"{path}: is {text.Length / 1024} KiB; an input file may be at most {MaximumLength / 1024} KiB.", exitCode: 1);
        }
        // The YAML parser recurses on flow brackets: refuse a depth it could not survive before it starts.
        if (FlowDepth(text) > MaximumDepth)
        {
            throw new CliException($"{path}: nests brackets more than {MaximumDepth} deep.", exitCode: 1);
        }
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
        var root = stream.Documents.Count == 0 ? null : new Converter(path, lines).Convert(stream.Documents[0].RootNode, "", 0);
        return new YamlDocument(path, root, lines);
    }

    private static int FlowDepth(string text)
    {
        int depth = 0, deepest = 0;
        foreach (var character in text)
        {
            if (character is '[' or '{')
            {
                deepest = Math.Max(deepest, ++depth);
            }
            else if (character is ']' or '}' && depth > 0)
            {
                depth--;
            }
        }
        return deepest;
    }

    private static Exception Innermost(Exception exception) => exception.InnerException is { } inner ? Innermost(inner) : exception;

    /// <summary>YAML nodes to JSON values, with aliases expanded but bounded: a node may not contain itself, and the whole may not grow past the limits.</summary>
    private sealed class Converter(string path, Dictionary<string, int> lines)
    {
        private readonly HashSet<YamlNode> open = new(ReferenceEqualityComparer.Instance);
        private int count;

        public JsonNode? Convert(YamlNode node, string pointer, int depth)
        {
            lines.TryAdd(pointer, (int)node.Start.Line);
            if (++count > MaximumNodes)
            {
                throw new CliException($"{path}: expands to more than {MaximumNodes} values (aliases included); an input file is far smaller.", exitCode: 1);
            }
            if (depth > MaximumDepth)
            {
                throw new CliException($"{path}: line {node.Start.Line}: nests more than {MaximumDepth} levels deep.", exitCode: 1);
            }
            if (!open.Add(node))
            {
                throw new CliException($"{path}: line {node.Start.Line}: an alias refers to a value that contains it.", exitCode: 1);
            }
            try
            {
                return node switch
                {
                    YamlMappingNode mapping => Mapping(mapping, pointer, depth),
                    YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select((child, index) => Convert(child, $"{pointer}/{index}", depth + 1))]),
                    YamlScalarNode scalar => Scalar(scalar),
                    _ => throw new CliException($"{path}: line {node.Start.Line}: unsupported YAML node.", exitCode: 1),
                };
            }
            finally
            {
                open.Remove(node);
            }
        }

        private JsonObject Mapping(YamlMappingNode mapping, string pointer, int depth)
        {
            var result = new JsonObject();
            var merged = new List<YamlMappingNode>();
            foreach (var (keyNode, valueNode) in mapping.Children)
            {
                if (keyNode is not YamlScalarNode { Value: { } key })
                {
                    throw new CliException($"{path}: line {keyNode.Start.Line}: a mapping key must be a plain text.", exitCode: 1);
                }
                if (key == "<<" && keyNode is YamlScalarNode { Style: ScalarStyle.Plain })
                {
                    merged.AddRange(valueNode switch
                    {
                        YamlMappingNode single => [single],
                        YamlSequenceNode several when several.Children.All(child => child is YamlMappingNode) => several.Children.Cast<YamlMappingNode>(),
                        _ => throw new CliException($"{path}: line {keyNode.Start.Line}: a merge key (<<) takes a mapping or a list of mappings.", exitCode: 1),
                    });
                    continue;
                }
                result[key] = Convert(valueNode, pointer + "/" + key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal), depth + 1);
            }
            // Merge keys (<<: *anchor) as PyYAML's safe loader reads them: the mapping's own keys win, then the first merged mapping's.
            foreach (var source in merged)
            {
                foreach (var (key, value) in (JsonObject)Convert(source, pointer, depth + 1)!)
                {
                    if (!result.ContainsKey(key))
                    {
                        result[key] = value?.DeepClone();
                    }
                }
            }
            return result;
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
