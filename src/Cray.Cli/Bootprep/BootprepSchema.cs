using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Cray.Cli.Bootprep;

/// <summary>
/// The input file's JSON Schema (the reference's version 1.0.9 shape, with
/// <c>additionalProperties: false</c> at every level) and a check that reports every problem with
/// its place in the file, in words rather than the validator's.
/// </summary>
public static partial class BootprepSchema
{
    public static readonly Version Version = new(1, 0, 9);

    public static string Text { get; } = ReadText();

    private static readonly JsonNode SchemaNode = JsonNode.Parse(Text)!;

    private static readonly JsonSchema Schema = JsonSchema.FromText(Text);

    private static string ReadText()
    {
        using var stream = typeof(BootprepSchema).Assembly.GetManifestResourceStream("Cray.Cli.Bootprep.bootprep-schema.json")
            ?? throw new InvalidOperationException("The bootprep schema is not embedded in the cray assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Every schema problem of the document, as "place: what is wrong", in the file's order.</summary>
    public static IReadOnlyList<string> Check(YamlDocument document)
    {
        if (document.Root is not JsonObject)
        {
            return [$"the file: must be a mapping with schema_version, configurations, images and session_templates (it is {Kind(document.Root)})"];
        }
        using var json = JsonDocument.Parse(document.Root.ToJsonString());
        var results = Schema.Evaluate(json.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        var problems = new List<(string Pointer, string Message)>();
        Collect(results, problems);
        return [.. problems
            .Distinct()
            .OrderBy(problem => document.LineOf(problem.Pointer) ?? int.MaxValue)
            .ThenBy(problem => problem.Pointer, StringComparer.Ordinal)
            .Select(problem => $"{document.Place(problem.Pointer)}: {problem.Message}")];
    }

    private static void Collect(EvaluationResults result, List<(string Pointer, string Message)> problems)
    {
        if (result.IsValid)
        {
            return;
        }
        var pointer = result.InstanceLocation.ToString();
        var schema = SchemaAt(result.SchemaLocation) as JsonObject;
        foreach (var (keyword, message) in result.Errors ?? new Dictionary<string, string>())
        {
            problems.Add((pointer, Explain(keyword, message, result, schema)));
        }
        var failed = result.Details?.Where(detail => !detail.IsValid).ToList() ?? [];
        var branches = failed.Where(IsOneOfBranch).ToList();
        var branchCount = (schema?["oneOf"] as JsonArray)?.Count ?? 0;
        // oneOf passed when all but one branch failed; its failing branches are then no problem.
        // A value of the wrong type has that problem alone.
        var oneOfFailed = branchCount > 0 && branches.Count != branchCount - 1 && (branches.Count > 0 || failed.Count == 0)
            && result.Errors?.ContainsKey("type") != true;
        // When every branch failed but one of them only deeper down, that branch is the form meant: its problems are the ones to name.
        var meant = branches.Count == branchCount ? branches.Where(branch => !HasErrorAt(branch, pointer)).ToList() : [];
        if (oneOfFailed && meant.Count == 1)
        {
            Collect(meant[0], problems);
        }
        else if (oneOfFailed)
        {
            problems.Add((pointer, (string?)schema?["description"] ?? $"must match exactly one of {branchCount} forms"));
        }
        else if (failed.Count == 0 && result.Errors is null)
        {
            problems.Add((pointer, (string?)schema?["description"] ?? "is not valid here"));
        }
        foreach (var detail in failed.Where(detail => !IsOneOfBranch(detail)))
        {
            Collect(detail, problems);
        }
    }

    /// <summary>Whether a result failed at the value itself (a missing key, a wrong type) rather than only inside it.</summary>
    private static bool HasErrorAt(EvaluationResults result, string pointer)
        => !result.IsValid && result.InstanceLocation.ToString() == pointer
            && (result.Errors is { Count: > 0 } || (result.Details ?? []).Any(detail => HasErrorAt(detail, pointer)));

    private static bool IsOneOfBranch(EvaluationResults detail)
        => OneOfBranch().IsMatch(detail.EvaluationPath.ToString());

    private static string Explain(string keyword, string message, EvaluationResults result, JsonObject? schema)
    {
        var path = result.EvaluationPath.ToString();
        if (path.EndsWith("/additionalProperties", StringComparison.Ordinal))
        {
            return "is not a key this place allows";
        }
        if (path.Contains("/dependentSchemas/branch", StringComparison.Ordinal) || path.Contains("/dependentSchemas/commit", StringComparison.Ordinal))
        {
            return "branch and commit beside the layer's keys go with source; a git layer gives them inside git";
        }
        return keyword switch
        {
            "required" when QuotedNames().Matches(message) is { Count: > 0 } names => "needs " + string.Join(" and ", names.Select(name => name.Groups[1].Value)),
            "dependentRequired" when QuotedNames().Matches(message) is { Count: > 0 } names => "needs " + string.Join(" and ", names.Select(name => name.Groups[1].Value)) + " with configuration",
            "enum" when schema?["enum"] is JsonArray values => "must be one of " + string.Join(", ", values.Select(value => value?.ToJsonString().Trim('"'))),
            "type" when TypeNames().Match(message) is { Success: true } types => $"is {Article(types.Groups[1].Value)}; it must be {Article(types.Groups[2].Value)}",
            "minLength" => "must not be empty",
            "minItems" => "must list at least one item",
            "minProperties" => "must have at least one entry",
            "pattern" => "must be a version such as 1.0.9 (MAJOR.MINOR.PATCH)",
            _ => message,
        };
    }

    private static string Article(string type) => type switch
    {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a text",
        "null" => "empty",
        "integer" => "an integer",
        _ => "a " + type,
    };

    private static string Kind(JsonNode? node) => node switch
    {
        null => "empty",
        JsonArray => "a list",
        _ => "a single value",
    };

    /// <summary>The schema object a result's location names, such as <c>#/$defs/layer</c>.</summary>
    private static JsonNode? SchemaAt(Uri location)
    {
        var fragment = Uri.UnescapeDataString(location.Fragment.TrimStart('#'));
        JsonNode? node = SchemaNode;
        foreach (var segment in fragment.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node switch
            {
                JsonObject map => map[segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)],
                JsonArray list when int.TryParse(segment, out var index) && index < list.Count => list[index],
                _ => null,
            };
            if (node is null)
            {
                return null;
            }
        }
        return node;
    }

    [GeneratedRegex("/oneOf/[0-9]+$")]
    private static partial Regex OneOfBranch();

    [GeneratedRegex("\"([^\"]+)\"")]
    private static partial Regex QuotedNames();

    [GeneratedRegex("^Value is \"(\\w+)\" but should be \"(\\w+)\"")]
    private static partial Regex TypeNames();
}
