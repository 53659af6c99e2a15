using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Cfs.Model;

namespace Cray.Cfs.Components;

/// <summary>Reads component bodies in either version's names and returns them in the stored (v3) names.</summary>
public static partial class ComponentRequests
{
    /// <summary>
    /// Component ids are node names (xnames, host names, addresses): Ansible's inventory names the
    /// component's host by its id and the API addresses it in a URL path, so an id is letters,
    /// digits and <c>._:@+-</c>, starting with a letter or digit, at most <see cref="MaximumIdLength"/>
    /// characters: no control character, space, '/', "." or "..". The reference takes any string.
    /// </summary>
    public const int MaximumIdLength = 255;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")]
    public static partial Regex IdPattern();

    /// <summary>A component id from a URL path, checked as a body's id is.</summary>
    public static string CheckId(string id)
        => SchemaReader.Of(new JsonObject { ["id"] = id }, "").String("id", 1, MaximumIdLength, IdPattern())!;

    private static readonly (string V3, string V2)[] TopLevel =
    [
        ("id", "id"), ("state", "state"), ("state_append", "stateAppend"), ("desired_config", "desiredConfig"),
        ("error_count", "errorCount"), ("retry_policy", "retryPolicy"), ("enabled", "enabled"), ("tags", "tags"),
    ];

    private static readonly (string V3, string V2)[] LayerFields =
    [
        ("clone_url", "cloneUrl"), ("playbook", "playbook"), ("commit", "commit"), ("status", "status"),
        ("session_name", "sessionName"), ("last_updated", "lastUpdated"),
    ];

    public static ComponentChange Parse(JsonNode? node, CfsApiVersion version, string path = "", bool requireId = false)
    {
        var v3 = version == CfsApiVersion.V3;
        var reader = SchemaReader.Of(node, path);
        reader.Only(TopLevel.Select(field => v3 ? field.V3 : field.V2).ToList(),
            v3 ? ["desired_state", "configuration_status", "logs"] : ["desiredState", "configurationStatus"]);
        if (requireId)
        {
            reader.Require("id");
        }
        string Name((string V3, string V2) field) => v3 ? field.V3 : field.V2;
        // Fields are judged in this order, so the first failure reported is the reference's.
        var id = reader.String("id", 1, MaximumIdLength, IdPattern());
        var desiredConfig = reader.String(Name(("desired_config", "desiredConfig")), maxLength: 60, nullable: true);
        var errorCount = reader.Integer(Name(("error_count", "errorCount")), minimum: 0);
        var retryPolicy = reader.Integer(Name(("retry_policy", "retryPolicy")), minimum: -1);
        var enabled = reader.Boolean("enabled");
        var tags = reader.StringMap("tags");
        var state = reader.Array("state", (item, itemPath) => ParseLayer(item, itemPath, v3));
        var appendName = Name(("state_append", "stateAppend"));
        var stateAppend = reader.Object(appendName) is null ? null : ParseLayer(reader.Body[appendName], $"{path}.{appendName}", v3);
        return new ComponentChange(id, desiredConfig, enabled, errorCount, retryPolicy, state, stateAppend, tags);
    }

    private static ComponentStateLayer ParseLayer(JsonNode? node, string path, bool v3)
    {
        var reader = SchemaReader.Of(node, path);
        reader.Only(LayerFields.Where(field => v3 || field.V3 != "status").Select(field => v3 ? field.V3 : field.V2).ToList());
        var values = new Dictionary<string, string>();
        foreach (var field in LayerFields)
        {
            var name = v3 ? field.V3 : field.V2;
            var value = field.V3 == "status"
                ? (v3 ? reader.Enum(name, ComponentService.LayerStatuses) : null)
                : reader.String(name, nullable: true);
            if (value is not null)
            {
                values[field.V3] = value;
            }
        }
        return new ComponentStateLayer(values.GetValueOrDefault("clone_url"), values.GetValueOrDefault("commit"), values.GetValueOrDefault("last_updated"),
            values.GetValueOrDefault("playbook"), values.GetValueOrDefault("session_name"), values.GetValueOrDefault("status"));
    }

    /// <summary>The component in a version's shape, with the derived status and the optional details.</summary>
    public static JsonObject Shape(ComponentRecord component, CfsApiVersion version, ComponentService.StatusContext context, bool configDetails, bool stateDetails, string? logsUrl)
    {
        var (status, desiredState) = ComponentService.Derive(component, context);
        var shaped = Api.CfsApi.Node(component).AsObject();
        shaped["configuration_status"] = status;
        shaped.TryAdd("retry_policy", context.DefaultRetryPolicy);
        if (configDetails)
        {
            shaped["desired_state"] = Api.CfsApi.Node(desiredState);
        }
        if (version == CfsApiVersion.V3)
        {
            if (!stateDetails)
            {
                shaped.Remove("state");
            }
            if (logsUrl is not null)
            {
                shaped["logs"] = logsUrl;
            }
            return (JsonObject)JsonShapes.SortKeys(shaped)!;
        }
        // v2 carries a layer's status as a suffix on its commit; "applied" has none.
        foreach (var layer in (shaped["state"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (layer["status"]?.GetValue<string>() is { } layerStatus && layerStatus != "applied")
            {
                layer["commit"] = $"{layer["commit"]?.GetValue<string>()}_{layerStatus}";
            }
            layer.Remove("status");
            JsonShapes.Rename(layer, "clone_url", "cloneUrl");
            JsonShapes.Rename(layer, "session_name", "sessionName");
            JsonShapes.Rename(layer, "last_updated", "lastUpdated");
        }
        foreach (var layer in (shaped["desired_state"] as JsonArray ?? []).OfType<JsonObject>())
        {
            JsonShapes.Rename(layer, "clone_url", "cloneUrl");
            JsonShapes.Rename(layer, "session_name", "sessionName");
            JsonShapes.Rename(layer, "last_updated", "lastUpdated");
        }
        foreach (var (v3Name, v2Name) in TopLevel.Append(("desired_state", "desiredState")).Append(("configuration_status", "configurationStatus")))
        {
            JsonShapes.Rename(shaped, v3Name, v2Name);
        }
        return (JsonObject)JsonShapes.SortKeys(shaped)!;
    }

    public static ComponentFilter ParseFilter(Func<string, string?> query, CfsApiVersion version)
    {
        IReadOnlySet<string>? Set(string? text) => string.IsNullOrEmpty(text)
            ? null
            : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var statuses = Set(query("status"));
        foreach (var status in statuses ?? new HashSet<string>())
        {
            if (!ComponentService.StatusOrder.Contains(status))
            {
                throw CfsProblems.Schema($"'{status}' is not one of ['unconfigured', 'failed', 'pending', 'configured']", "status");
            }
        }
        var enabledText = query("enabled");
        var configName = query(version == CfsApiVersion.V3 ? "config_name" : "configName");
        return new ComponentFilter(Set(query("ids")), statuses,
            string.IsNullOrEmpty(enabledText) ? null : Api.ConfigurationsApi.ParseBoolean(enabledText, "enabled"),
            string.IsNullOrEmpty(configName) ? null : configName, ParseTags(query("tags")));
    }

    public static IReadOnlyDictionary<string, string>? ParseTags(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        var tags = new Dictionary<string, string>();
        foreach (var pair in text.Split(','))
        {
            var parts = pair.Split('=');
            if (parts.Length != 2)
            {
                throw CfsProblems.BadRequest("Error parsing the tags provided.", $"The tag '{pair}' is not key=value; give tags as key=value[,key2=value2].");
            }
            tags[parts[0]] = parts[1];
        }
        return tags;
    }

    /// <summary>The filters object of a bulk PATCH: {ids, status, enabled, config_name, tags}.</summary>
    public static ComponentFilter ParseBodyFilter(JsonNode? node, CfsApiVersion version)
    {
        var reader = SchemaReader.Of(node, "filters");
        var configNameKey = version == CfsApiVersion.V3 ? "config_name" : "configName";
        reader.Only(["ids", "status", "enabled", configNameKey, "tags"]);
        var enabled = reader.Boolean("enabled");
        return ParseFilter(name => name == "enabled" ? null : reader.String(name), version) with { Enabled = enabled };
    }
}
