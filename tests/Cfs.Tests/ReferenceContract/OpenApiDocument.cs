using System.Globalization;
using System.Text.Json.Nodes;
using Json.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Cray.Cfs.Tests.ReferenceContract;

/// <summary>One of the reference's OpenAPI 3.0 documents: its operations, and each response's body as a JSON Schema.</summary>
public sealed class OpenApiDocument
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head"];
    private readonly JsonObject root;
    private readonly JsonObject definitions;

    private OpenApiDocument(JsonObject root)
    {
        this.root = root;
        definitions = (JsonObject)ToJsonSchema(root["components"]?["schemas"]?.DeepClone() ?? new JsonObject())!;
    }

    /// <param name="corrections">Changes to the document made before it is read, each a correction the caller documents.</param>
    public static OpenApiDocument Load(string path, IEnumerable<Action<JsonObject>> corrections)
    {
        using var reader = new StreamReader(path);
        var stream = new YamlStream();
        stream.Load(reader);
        var root = (JsonObject)ToJson(stream.Documents[0].RootNode)!;
        foreach (var correct in corrections)
        {
            correct(root);
        }
        return new OpenApiDocument(root);
    }

    /// <summary>The node at a JSON pointer such as <c>/components/schemas/ImageRecord</c>.</summary>
    public static JsonNode At(JsonNode root, string pointer)
        => pointer.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Aggregate(root, (current, segment) => current[segment.Replace("~1", "/").Replace("~0", "~")]
                ?? throw new ArgumentException($"{pointer} is not in the document."));

    /// <summary>Every operation as (METHOD, path template), the template as the document writes it (below its server's base path).</summary>
    public IReadOnlyList<(string Method, string Template)> Operations
        => [.. root["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject()
                .Where(operation => Methods.Contains(operation.Key))
                .Select(operation => (operation.Key.ToUpperInvariant(), path.Key)))];

    /// <summary>The documented answer for this status (or the operation's default), or null when the status is not documented.</summary>
    public DocumentedResponse? Response(string method, string template, int status)
    {
        var responses = root["paths"]?[template]?[method.ToLowerInvariant()]?["responses"]?.AsObject()
            ?? throw new ArgumentException($"{method} {template} is not in the document.");
        var response = responses[status.ToString(CultureInfo.InvariantCulture)] ?? responses["default"];
        if (response is null)
        {
            return null;
        }
        response = Resolve(response);
        if (response["content"] is not JsonObject content || content.Count == 0)
        {
            return new DocumentedResponse(null, null);
        }
        var (mediaType, body) = content.First();
        var schema = body?["schema"] is { } node ? ToJsonSchema(node.DeepClone())!.AsObject() : null;
        if (schema is null)
        {
            return new DocumentedResponse(mediaType, null);
        }
        schema["$defs"] = definitions.DeepClone();
        return new DocumentedResponse(mediaType, JsonSchema.FromText(schema.ToJsonString()));
    }

    private JsonNode Resolve(JsonNode node)
    {
        while (node["$ref"] is JsonValue reference)
        {
            node = At(root, ((string)reference!).TrimStart('#'));
        }
        return node;
    }

    /// <summary>
    /// OpenAPI 3.0's schema dialect as JSON Schema 2020-12: <c>nullable</c> becomes a "null" type, and
    /// references to components point into the <c>$defs</c> each schema carries.
    /// </summary>
    private static JsonNode? ToJsonSchema(JsonNode? node)
    {
        switch (node)
        {
            case JsonArray array:
                foreach (var item in array)
                {
                    ToJsonSchema(item);
                }
                break;
            case JsonObject schema:
                foreach (var (_, child) in schema.ToList())
                {
                    ToJsonSchema(child);
                }
                if (schema["$ref"] is JsonValue reference && ((string)reference!).StartsWith("#/components/schemas/", StringComparison.Ordinal))
                {
                    schema["$ref"] = "#/$defs/" + ((string)reference!)["#/components/schemas/".Length..];
                }
                if (schema["nullable"] is JsonValue nullable && (bool)nullable)
                {
                    schema.Remove("nullable");
                    if (schema["type"] is JsonValue type)
                    {
                        schema["type"] = new JsonArray((string)type!, "null");
                        if (schema["enum"] is JsonArray values)
                        {
                            values.Add(null);
                        }
                    }
                    else
                    {
                        var inner = new JsonObject();
                        foreach (var (key, value) in schema.ToList())
                        {
                            schema.Remove(key);
                            inner[key] = value;
                        }
                        schema["anyOf"] = new JsonArray(inner, new JsonObject { ["type"] = "null" });
                    }
                }
                break;
        }
        return node;
    }

    /// <summary>YAML to JSON with the YAML 1.2 core schema: plain scalars may be null, booleans or numbers; quoted ones are strings.</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(pair =>
            KeyValuePair.Create(((YamlScalarNode)pair.Key).Value!, ToJson(pair.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => PlainScalar(scalar.Value ?? ""),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new FormatException($"Unexpected YAML node at {node.Start}."),
    };

    private static JsonNode? PlainScalar(string text)
    {
        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }
        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(text.Equals("true", StringComparison.OrdinalIgnoreCase));
        }
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && char.IsAsciiDigit(text[^1]))
        {
            return JsonValue.Create(number);
        }
        return JsonValue.Create(text);
    }
}

/// <summary>What the reference documents for one status of one operation: the body's media type and schema, when it has a body.</summary>
public sealed record DocumentedResponse(string? MediaType, JsonSchema? Schema);
