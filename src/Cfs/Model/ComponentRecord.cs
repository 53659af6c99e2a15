using System.Text.Json.Serialization;

namespace Cray.Cfs.Model;

/// <summary>A layer a session applied to a component, as its state records it; absent fields are not written.</summary>
public sealed record ComponentStateLayer(
    [property: JsonPropertyName("clone_url"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CloneUrl,
    [property: JsonPropertyName("commit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Commit,
    [property: JsonPropertyName("last_updated"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LastUpdated,
    [property: JsonPropertyName("playbook"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Playbook,
    [property: JsonPropertyName("session_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SessionName,
    [property: JsonPropertyName("status"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Status);

/// <summary>A layer of a component's desired configuration with its status; the repository, commit and playbook are written even when unknown.</summary>
public sealed record DesiredStateLayer(
    [property: JsonPropertyName("clone_url")] string? CloneUrl,
    [property: JsonPropertyName("commit")] string? Commit,
    [property: JsonPropertyName("last_updated"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LastUpdated,
    [property: JsonPropertyName("playbook")] string? Playbook,
    [property: JsonPropertyName("session_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SessionName,
    [property: JsonPropertyName("status")] string Status);

/// <summary>
/// A component as stored (the v3 shape, without the derived configuration_status); a component
/// with no retry_policy of its own takes the option's default when it is shown.
/// </summary>
public sealed record ComponentRecord(
    [property: JsonPropertyName("desired_config")] string DesiredConfig,
    [property: JsonPropertyName("enabled")] bool Enabled,
    [property: JsonPropertyName("error_count")] int ErrorCount,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("retry_policy"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? RetryPolicy,
    [property: JsonPropertyName("state")] IReadOnlyList<ComponentStateLayer> State,
    [property: JsonPropertyName("tags")] IReadOnlyDictionary<string, string> Tags);

/// <summary>
/// A component write in the stored names: null fields are not given. A PUT replaces the component
/// with what is given; a PATCH changes only that.
/// </summary>
public sealed record ComponentChange(
    string? Id = null,
    string? DesiredConfig = null,
    bool? Enabled = null,
    int? ErrorCount = null,
    int? RetryPolicy = null,
    IReadOnlyList<ComponentStateLayer>? State = null,
    ComponentStateLayer? StateAppend = null,
    IReadOnlyDictionary<string, string>? Tags = null);
