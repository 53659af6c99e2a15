using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cray.Cfs;

/// <summary>
/// Reads a request object the way the reference's JSON Schema validation judges it: the first
/// failure becomes a 400 "Bad Request" whose detail is the schema message and the field's path.
/// </summary>
public sealed class SchemaReader(JsonObject body, string path = "")
{
    public JsonObject Body { get; } = body;

    private string PathOf(string field) => path.Length == 0 ? field : $"{path}.{field}";

    public static SchemaReader Of(JsonNode? node, string path)
    {
        if (node is not JsonObject obj)
        {
            throw CfsProblems.Schema($"{Show(node)} is not of type 'object'", path);
        }
        return new SchemaReader(obj, path);
    }

    /// <summary>Rejects keys outside the schema (additionalProperties: false) and read-only keys.</summary>
    public SchemaReader Only(IReadOnlyCollection<string> allowed, IReadOnlyCollection<string>? readOnly = null)
    {
        foreach (var (key, _) in Body)
        {
            if (readOnly?.Contains(key) == true)
            {
                throw CfsProblems.Schema("Property is read-only", PathOf(key));
            }
        }
        var unexpected = Body.Select(pair => pair.Key).Where(key => !allowed.Contains(key)).ToList();
        if (unexpected.Count > 0)
        {
            var names = string.Join(", ", unexpected.Select(key => $"'{key}'"));
            throw CfsProblems.Schema($"Additional properties are not allowed ({names} {(unexpected.Count == 1 ? "was" : "were")} unexpected)", path);
        }
        return this;
    }

    public void Require(params string[] fields)
    {
        foreach (var field in fields)
        {
            if (!Body.ContainsKey(field))
            {
                throw CfsProblems.Schema($"'{field}' is a required property", path);
            }
        }
    }

    public bool Has(string field) => Body.ContainsKey(field);

    public string? String(string field, int minLength = 0, int maxLength = int.MaxValue, Regex? pattern = null, bool nullable = false)
    {
        if (!Body.TryGetPropertyValue(field, out var node))
        {
            return null;
        }
        if (node is null && nullable)
        {
            return null;
        }
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.String)
        {
            throw CfsProblems.Schema($"{Show(node)} is not of type 'string'", PathOf(field));
        }
        var text = value.GetValue<string>();
        if (text.Length < minLength)
        {
            throw CfsProblems.Schema($"{Show(node)} is too short", PathOf(field));
        }
        if (text.Length > maxLength)
        {
            throw CfsProblems.Schema($"{Show(node)} is too long", PathOf(field));
        }
        if (pattern is not null && !pattern.IsMatch(text))
        {
            throw CfsProblems.Schema($"{Show(node)} does not match '{pattern}'", PathOf(field));
        }
        return text;
    }

    public string? Enum(string field, IReadOnlyList<string> choices, bool allowEmpty = false)
    {
        var text = String(field);
        if (text is not null && !choices.Contains(text) && !(allowEmpty && text.Length == 0))
        {
            throw CfsProblems.Schema($"'{text}' is not one of [{string.Join(", ", choices.Select(choice => $"'{choice}'"))}]", PathOf(field));
        }
        return text;
    }

    public int? Integer(string field, int minimum = int.MinValue, int maximum = int.MaxValue)
    {
        if (!Body.TryGetPropertyValue(field, out var node))
        {
            return null;
        }
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number || !value.TryGetValue<int>(out var number))
        {
            throw CfsProblems.Schema($"{Show(node)} is not of type 'integer'", PathOf(field));
        }
        if (number < minimum)
        {
            throw CfsProblems.Schema($"{number} is less than the minimum of {minimum}", PathOf(field));
        }
        if (number > maximum)
        {
            throw CfsProblems.Schema($"{number} is greater than the maximum of {maximum}", PathOf(field));
        }
        return number;
    }

    public bool? Boolean(string field)
    {
        if (!Body.TryGetPropertyValue(field, out var node))
        {
            return null;
        }
        if (node is not JsonValue value || value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw CfsProblems.Schema($"{Show(node)} is not of type 'boolean'", PathOf(field));
        }
        return value.GetValue<bool>();
    }

    /// <summary>An array (or null where the schema allows it), each item read by <paramref name="item"/>.</summary>
    public List<T>? Array<T>(string field, Func<JsonNode?, string, T> item, bool nullable = true)
    {
        if (!Body.TryGetPropertyValue(field, out var node) || (node is null && nullable))
        {
            return null;
        }
        if (node is not JsonArray array)
        {
            throw CfsProblems.Schema($"{Show(node)} is not of type 'array'", PathOf(field));
        }
        return array.Select((element, index) => item(element, $"{PathOf(field)}.{index.ToString(CultureInfo.InvariantCulture)}")).ToList();
    }

    public Dictionary<string, string>? StringMap(string field)
    {
        if (!Body.TryGetPropertyValue(field, out var node) || node is null)
        {
            return null;
        }
        var map = Of(node, PathOf(field));
        return map.Body.ToDictionary(pair => pair.Key, pair => map.String(pair.Key)!);
    }

    public SchemaReader? Object(string field)
        => Body.TryGetPropertyValue(field, out var node) && node is not null ? Of(node, PathOf(field)) : null;

    public static string Show(JsonNode? node) => node switch
    {
        null => "None",
        JsonValue value when value.GetValueKind() == JsonValueKind.String => $"'{value.GetValue<string>()}'",
        JsonValue value when value.GetValueKind() == JsonValueKind.True => "True",
        JsonValue value when value.GetValueKind() == JsonValueKind.False => "False",
        _ => node.ToJsonString(),
    };
}
