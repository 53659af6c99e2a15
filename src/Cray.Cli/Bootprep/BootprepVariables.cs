using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Bootprep;

/// <summary>One variable as <c>list-vars</c> shows it.</summary>
public sealed record VariableRow(string Name, string Value, string Source);

/// <summary>
/// The variables the file's templates may use: <c>--vars-file</c>, then each <c>--vars k.sub=v</c>
/// over it. Hyphens in top-level keys become underscores, as in the reference
/// (<c>slingshot-host-software.version</c> is <c>slingshot_host_software.version</c>).
/// </summary>
public sealed class BootprepVariables
{
    private readonly JsonObject values = [];
    private readonly Dictionary<string, string> sources = new(StringComparer.Ordinal);

    public static BootprepVariables From(string? variablesFile, IEnumerable<string> assignments)
    {
        var variables = new BootprepVariables();
        if (variablesFile is not null)
        {
            var document = YamlDocument.Load(variablesFile);
            if (document.Root is not (JsonObject or null))
            {
                throw new CliException($"{variablesFile}: a variables file must be a mapping of names to values.", exitCode: 1);
            }
            foreach (var (key, value) in (document.Root as JsonObject ?? []).ToList())
            {
                variables.Set([TopLevelName(key)], value?.DeepClone(), variablesFile);
            }
        }
        foreach (var assignment in assignments)
        {
            var separator = assignment.IndexOf('=', StringComparison.Ordinal);
            if (separator <= 0)
            {
                throw new CliException($"Invalid value for '--vars': '{assignment}' is not NAME=VALUE (NAME may be dotted: product.version=1.2.3).", exitCode: 2, showUsage: true);
            }
            var path = assignment[..separator].Split('.');
            if (path.Any(string.IsNullOrWhiteSpace))
            {
                throw new CliException($"Invalid value for '--vars': '{assignment[..separator]}' has an empty part.", exitCode: 2, showUsage: true);
            }
            path[0] = TopLevelName(path[0]);
            variables.Set(path, JsonValue.Create(assignment[(separator + 1)..]), "--vars");
        }
        return variables;
    }

    private static string TopLevelName(string key) => key.Replace('-', '_');

    private void Set(string[] path, JsonNode? value, string source)
    {
        var parent = values;
        for (var index = 0; index < path.Length - 1; index++)
        {
            if (parent[path[index]] is not JsonObject child)
            {
                child = [];
                parent[path[index]] = child;
            }
            parent = child;
        }
        parent[path[^1]] = value;
        foreach (var row in Rows(value, string.Join('.', path)))
        {
            sources[row.Name] = source;
        }
    }

    private static IEnumerable<(string Name, string Value)> Rows(JsonNode? value, string name) => value switch
    {
        JsonObject map => map.SelectMany(pair => Rows(pair.Value, $"{name}.{pair.Key}")),
        _ => [(name, Text(value))],
    };

    /// <summary>Every leaf variable with its value and where it came from, sorted by name.</summary>
    public IReadOnlyList<VariableRow> List()
        => [.. values.SelectMany(pair => Rows(pair.Value, pair.Key))
            .Select(row => new VariableRow(row.Name, row.Value, sources.GetValueOrDefault(row.Name, "")))
            .OrderBy(row => row.Name, StringComparer.Ordinal)];

    /// <summary>
    /// The values as the template engine reads them: nested dictionaries of integers and texts.
    /// Booleans, decimals and nulls are texts as Python writes them (True, 2.0, None), so a name
    /// renders as the reference renders it.
    /// </summary>
    public IReadOnlyDictionary<string, object?> Model() => (Dictionary<string, object?>)ToModel(values)!;

    private static object? ToModel(JsonNode? node) => node switch
    {
        JsonObject map => map.ToDictionary(pair => pair.Key, pair => ToModel(pair.Value), StringComparer.Ordinal),
        JsonArray list => list.Select(ToModel).ToList(),
        JsonValue value when value.TryGetValue<long>(out var integer) => integer,
        _ => Text(node),
    };

    private static string Text(JsonNode? value) => value switch
    {
        null => "None",
        JsonValue scalar when scalar.TryGetValue<string>(out var text) => text,
        JsonValue scalar when scalar.TryGetValue<bool>(out var flag) => flag ? "True" : "False",
        JsonValue scalar when scalar.TryGetValue<long>(out var integer) => integer.ToString(CultureInfo.InvariantCulture),
        JsonValue scalar when scalar.TryGetValue<double>(out var number) => PythonFloat(number),
        _ => value.ToJsonString(),
    };

    /// <summary>Python's str of a float: the shortest round-trip form, with ".0" when it is whole.</summary>
    private static string PythonFloat(double number)
    {
        var text = number.ToString("R", CultureInfo.InvariantCulture);
        return double.IsFinite(number) && !text.Contains('.', StringComparison.Ordinal) && !text.Contains('E', StringComparison.Ordinal) ? text + ".0" : text;
    }
}
