using System.Text.Json.Serialization;
using Cray.Platform.Storage;
using Cray.Platform.Work;

namespace Cray.Cfs.Model;

public sealed record SessionConfiguration(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("limit")] string Limit);

public sealed record SessionAnsible(
    [property: JsonPropertyName("config")] string Config,
    [property: JsonPropertyName("limit")] string? Limit,
    [property: JsonPropertyName("passthrough")] string? Passthrough,
    [property: JsonPropertyName("verbosity")] int Verbosity);

public sealed record TargetGroup(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("members")] IReadOnlyList<string> Members);

public sealed record ImageMapping(
    [property: JsonPropertyName("source_id")] string SourceId,
    [property: JsonPropertyName("result_name")] string ResultName);

public sealed record SessionTarget(
    [property: JsonPropertyName("definition")] string Definition,
    [property: JsonPropertyName("groups")] IReadOnlyList<TargetGroup>? Groups,
    [property: JsonPropertyName("image_map")] IReadOnlyList<ImageMapping>? ImageMap);

public sealed record SessionArtifact(
    [property: JsonPropertyName("image_id")] string? ImageId,
    [property: JsonPropertyName("result_id")] string? ResultId,
    [property: JsonPropertyName("type")] string? Type);

public sealed record SessionProgress(
    [property: JsonPropertyName("completion_time")] string? CompletionTime,
    [property: JsonPropertyName("ims_job")] string? ImsJob,
    [property: JsonPropertyName("job")] string? Job,
    [property: JsonPropertyName("start_time")] string? StartTime,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("succeeded")] string Succeeded);

public sealed record SessionStatus(
    [property: JsonPropertyName("artifacts")] IReadOnlyList<SessionArtifact> Artifacts,
    [property: JsonPropertyName("session")] SessionProgress Session);

/// <summary>A session as stored (the v3 shape); the v2 shape is derived from it on the way out.</summary>
public sealed record SessionRecord(
    [property: JsonPropertyName("ansible")] SessionAnsible Ansible,
    [property: JsonPropertyName("configuration")] SessionConfiguration Configuration,
    [property: JsonPropertyName("debug_on_failure")] bool DebugOnFailure,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] SessionStatus Status,
    [property: JsonPropertyName("tags")] IReadOnlyDictionary<string, string> Tags,
    [property: JsonPropertyName("target")] SessionTarget Target) : IStagedRecord
{
    /// <summary>The runner that claimed the session and until when its lease lasts; the API's shapes leave it out.</summary>
    [JsonPropertyName("runner")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public WorkLease? Runner { get; init; }

    /// <summary>Every IMS job the runner started for the session: whoever ends the session after its runner is gone deletes them.</summary>
    [JsonPropertyName("ims_jobs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? ImsJobs { get; init; }

    /// <summary>While a failed debug_on_failure session holds: until when, and whether it was released through an API server.</summary>
    [JsonPropertyName("debug_hold")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DebugHold? DebugHold { get; init; }

    /// <summary>
    /// Ours, only when given: false (<c>--no-cache</c>) runs every layer, reusing nothing from the
    /// layer cache (what the layers make is still stored); true or unset follows the layer_cache option.
    /// </summary>
    [JsonPropertyName("layer_cache")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? LayerCache { get; init; }

    /// <summary>Waiting for a runner while pending without a job, running from the claim (which sets the job) until complete.</summary>
    [JsonIgnore]
    public string? Stage => string.IsNullOrEmpty(Status.Session.Job)
        ? Status.Session.Status == SessionStates.Pending ? RecordStages.Waiting : null
        : Status.Session.Status == SessionStates.Complete ? null : RecordStages.Running;
}

/// <summary>A debug hold's end, and whether someone asked to end it early (cray cfs v3 sessions release).</summary>
public sealed record DebugHold(
    [property: JsonPropertyName("until")] DateTimeOffset Until,
    [property: JsonPropertyName("released")] bool Released);

public static class SessionStates
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Complete = "complete";

    /// <summary>Statuses only move forward.</summary>
    public static readonly string[] Order = [Pending, Running, Complete];
}

public static class SessionResults
{
    public const string None = "none";
    public const string Unknown = "unknown";
    public const string False = "false";
    public const string True = "true";

    /// <summary>Results only move forward too, so "true" can overwrite "false".</summary>
    public static readonly string[] Order = [None, Unknown, False, True];
}

public static class TargetDefinitions
{
    public const string Image = "image";
    public const string Spec = "spec";
    public const string Repo = "repo";
    public const string Dynamic = "dynamic";

    public static readonly string[] All = [Image, Spec, Repo, Dynamic];
}

public static class CfsCollections
{
    public const string Sessions = "cfs.sessions";
    public const string Configurations = "cfs.configurations";
    public const string Options = "cfs.options";
    public const string Components = "cfs.components";
    public const string Sources = "cfs.sources";
}
