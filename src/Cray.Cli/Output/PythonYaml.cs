using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Cray.Cli.Output;

/// <summary>
/// YAML as the reference CLI prints it (PyYAML's safe_dump, block style): sequences inside mappings
/// are not indented, strings that YAML 1.1 would read as another type (dates, numbers, booleans,
/// null) are single-quoted so that they stay strings, and long strings fold at 80 columns.
/// </summary>
public static partial class PythonYaml
{
    // YamlDotNet cannot emit an empty plain scalar, so nulls are written as this marker and then blanked.
    private const string NullMarker = "cray-null-5f0c9e2d";

    public static string Format(JsonNode? document)
    {
        var stream = new YamlStream(new YamlDocument(ToYaml(document)));
        using var writer = new StringWriter();
        // PyYAML's emitter folds long scalars at its best width of 80 columns; YamlDotNet's, a port of
        // the same emitter, does the same when told the width.
        stream.Save(new Emitter(writer, new EmitterSettings(bestIndent: 2, bestWidth: 80, isCanonical: false, maxSimpleKeyLength: 1024)), assignAnchors: false);
        var text = writer.ToString();
        // YamlDotNet closes each document with "...": PyYAML does not for a block document.
        if (text.EndsWith("...\n", StringComparison.Ordinal))
        {
            text = text[..^4];
        }
        text = NullLine().Replace(text, "$1");
        return text.TrimEnd('\n') + "\n";
    }

    private static YamlNode ToYaml(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return new YamlScalarNode(NullMarker) { Style = ScalarStyle.Plain };
            case JsonObject obj:
                var mapping = new YamlMappingNode();
                if (obj.Count == 0)
                {
                    mapping.Style = MappingStyle.Flow;
                }
                foreach (var (key, value) in obj)
                {
                    mapping.Add(StringScalar(key), ToYaml(value));
                }
                return mapping;
            case JsonArray array:
                var sequence = new YamlSequenceNode();
                if (array.Count == 0)
                {
                    sequence.Style = SequenceStyle.Flow;
                }
                foreach (var item in array)
                {
                    sequence.Add(ToYaml(item));
                }
                return sequence;
            case JsonValue value:
                return value.GetValueKind() switch
                {
                    JsonValueKind.String => StringScalar(value.GetValue<string>()),
                    JsonValueKind.True => new YamlScalarNode("true") { Style = ScalarStyle.Plain },
                    JsonValueKind.False => new YamlScalarNode("false") { Style = ScalarStyle.Plain },
                    _ => new YamlScalarNode(value.ToJsonString()) { Style = ScalarStyle.Plain },
                };
            default:
                throw new InvalidOperationException("Unknown JSON node.");
        }
    }

    private static YamlScalarNode StringScalar(string text)
        => new(text) { Style = ReadsAsAnotherType(text) ? ScalarStyle.SingleQuoted : ScalarStyle.Any };

    /// <summary>The YAML 1.1 implicit types PyYAML resolves (its booleans exclude y and n): a string that matches one must be quoted.</summary>
    private static bool ReadsAsAnotherType(string text)
        => text.Length == 0 || ImplicitType().IsMatch(text);

    [GeneratedRegex("(?m)([:-]) " + NullMarker + "$")]
    private static partial Regex NullLine();

    [GeneratedRegex(
        """^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|=|<<"""
        + """|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"""
        + """|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"""
        + """|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""")]
    private static partial Regex ImplicitType();
}
