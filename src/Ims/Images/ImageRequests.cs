using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Ims.Model;
using Cray.Ims.Validation;

namespace Cray.Ims.Images;

public sealed record ImageCreate(string Name, ArtifactLink? Link, string Arch, IReadOnlyDictionary<string, string> Metadata);

public enum MetadataOperation
{
    Set,
    Remove,
}

public sealed record MetadataChange(MetadataOperation Operation, string Key, string Value);

/// <summary>What one PATCH asks for; null members are left as they are.</summary>
public sealed record ImagePatch(ArtifactLink? Link, string? Arch, MetadataChange? Metadata);

/// <summary>Turns request bodies into image requests with the reference's checks and messages.</summary>
public static class ImageRequests
{
    private static readonly string[] CreateFields = ["name", "link", "arch", "metadata"];
    private static readonly string[] MetadataPatchFields = ["operation", "key", "value"];
    private static readonly string ArchMessage = FieldErrors.MustBeOneOf(Architectures.All);

    public static ImageCreate ParseCreate(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        var errors = new FieldErrors();
        JsonFields.RejectUnknown(body, CreateFields, errors);
        var name = JsonFields.RequiredNonBlank(body, "name", errors);
        var link = body.ContainsKey("link") && body["link"] is not null ? ArtifactLinks.Parse(body["link"], errors) : null;
        var arch = JsonFields.OneOf(body, "arch", Architectures.All, ArchMessage, errors) ?? Architectures.X86_64;
        var metadata = ParseMetadataMap(body["metadata"], errors);
        errors.ThrowIfAny();
        return new ImageCreate(name!, link, arch, metadata);
    }

    public static ImagePatch ParsePatch(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        ArtifactLink? link = null;
        string? arch = null;
        MetadataChange? metadata = null;
        foreach (var (field, value) in body)
        {
            var errors = new FieldErrors();
            switch (field)
            {
                case "link":
                    link = ArtifactLinks.Parse(value, errors);
                    break;
                case "arch":
                    arch = JsonFields.OneOf(body, "arch", Architectures.All, ArchMessage, errors);
                    if (arch is null && !errors.Any)
                    {
                        errors.Add("arch", ArchMessage);
                    }
                    break;
                case "metadata":
                    metadata = ParseMetadataChange(value, errors);
                    break;
                default:
                    throw ImsProblems.Unsupported($"Unsupported patch field '{field}'. An image PATCH accepts link, arch and metadata.");
            }
            errors.ThrowIfAny();
        }
        return new ImagePatch(link, arch, metadata);
    }

    /// <summary>
    /// Create accepts a string map, or the CLI's single pair <c>{"key": K, "value": V}</c>, which the
    /// reference rewrites to <c>{K: V}</c> before validating.
    /// </summary>
    private static Dictionary<string, string> ParseMetadataMap(JsonNode? node, FieldErrors errors)
    {
        var metadata = new Dictionary<string, string>();
        if (node is null)
        {
            return metadata;
        }
        if (node is not JsonObject map)
        {
            errors.Add("metadata", "Not a valid mapping type.");
            return metadata;
        }
        if (map.ContainsKey("key"))
        {
            var pairErrors = new FieldErrors();
            var key = JsonFields.RequiredString(map, "key", pairErrors);
            var value = map["value"] is null ? "" : JsonFields.OptionalString(map, "value", pairErrors) ?? "";
            errors.AddNested("metadata", pairErrors);
            if (key is not null)
            {
                metadata[key] = value;
            }
            return metadata;
        }
        foreach (var (key, value) in map)
        {
            if (value is JsonValue text && text.GetValueKind() == JsonValueKind.String)
            {
                metadata[key] = text.GetValue<string>();
            }
            else
            {
                var valueErrors = new FieldErrors();
                valueErrors.Add(key, FieldErrors.NotAString);
                errors.AddNested("metadata", valueErrors);
            }
        }
        return metadata;
    }

    private static MetadataChange? ParseMetadataChange(JsonNode? node, FieldErrors errors)
    {
        if (node is not JsonObject change)
        {
            errors.Add("metadata", FieldErrors.NotAnObject);
            return null;
        }
        var changeErrors = new FieldErrors();
        JsonFields.RejectUnknown(change, MetadataPatchFields, changeErrors);
        var operation = JsonFields.RequiredString(change, "operation", changeErrors);
        MetadataOperation? parsed = operation switch
        {
            "set" => MetadataOperation.Set,
            "remove" => MetadataOperation.Remove,
            null => null,
            _ => null,
        };
        if (operation is not null && parsed is null)
        {
            changeErrors.Add("operation", "Must be one of: set, remove.");
        }
        var key = JsonFields.RequiredString(change, "key", changeErrors);
        var value = change["value"] is null ? "" : JsonFields.OptionalString(change, "value", changeErrors) ?? "";
        errors.AddNested("metadata", changeErrors);
        return changeErrors.Any ? null : new MetadataChange(parsed!.Value, key!, value);
    }
}
