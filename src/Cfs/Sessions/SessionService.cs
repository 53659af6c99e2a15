using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Cfs.Configurations;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Platform.Json;
using Cray.Platform.Storage;

namespace Cray.Cfs.Sessions;

/// <summary>Sessions: create with the reference's checks in order, read, filter, page, patch monotonically, delete.</summary>
public sealed class SessionService(IRecordStore store, ConfigurationService configurations, OptionsService options, Runner.SessionControl control, Runner.SessionLogs logs, TimeProvider clock)
{
    public const string StartTimeFormat = "yyyy-MM-dd'T'HH:mm:ss";

    public async Task<SessionRecord> CreateAsync(SessionCreate request, CfsApiVersion version, CancellationToken cancellationToken)
    {
        if (await store.GetAsync<SessionRecord>(CfsCollections.Sessions, request.Name, cancellationToken) is not null)
        {
            throw Conflict(request.Name);
        }
        var isDebug = version == CfsApiVersion.V3 && request.ConfigurationName.StartsWith("debug_", StringComparison.Ordinal);
        if (!isDebug && await configurations.FindAsync(request.ConfigurationName, cancellationToken) is null)
        {
            throw CfsProblems.BadRequest("Invalid configuration", $"No configurations exist named {request.ConfigurationName}");
        }
        SessionRequests.CheckTarget(request.Target);
        if (!string.IsNullOrEmpty(request.AnsiblePassthrough) && AnsiblePassthrough.Validate(request.AnsiblePassthrough) is { } problem)
        {
            throw CfsProblems.BadRequest("Bad Request", $"Error validating ansible-passthrough: {problem}");
        }
        var ansibleConfig = string.IsNullOrEmpty(request.AnsibleConfig)
            ? OptionsService.Text(await options.GetAsync(cancellationToken), "default_ansible_config")
            : request.AnsibleConfig;
        var session = new SessionRecord(
            new SessionAnsible(ansibleConfig, request.AnsibleLimit, request.AnsiblePassthrough, request.AnsibleVerbosity),
            new SessionConfiguration(request.ConfigurationName, request.ConfigurationLimit),
            request.DebugOnFailure,
            request.Name,
            new SessionStatus([], new SessionProgress(null, null, null, Now(), SessionStates.Pending, SessionResults.None)),
            request.Tags,
            request.Target);
        try
        {
            await store.WriteAsync(RecordWrite.Insert(CfsCollections.Sessions, session.Name, session), cancellationToken);
        }
        catch (RecordConflictException)
        {
            throw Conflict(request.Name);
        }
        return session;
    }

    public async Task<SessionRecord> GetAsync(string name, CancellationToken cancellationToken)
        => await store.GetAsync<SessionRecord>(CfsCollections.Sessions, name, cancellationToken) ?? throw NotFound(name);

    public IAsyncEnumerable<SessionRecord> ScanAsync(string? afterId, CancellationToken cancellationToken)
        => store.ScanByIdAsync<SessionRecord>(CfsCollections.Sessions, afterId, cancellationToken);

    public Func<SessionRecord, bool> Matcher(SessionFilter filter)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return session =>
        {
            var progress = session.Status.Session;
            if (filter.Status is not null && progress.Status != filter.Status)
            {
                return false;
            }
            if (filter.Succeeded is not null && progress.Succeeded != filter.Succeeded)
            {
                return false;
            }
            if (filter.NameContains is not null && !session.Name.Contains(filter.NameContains, StringComparison.Ordinal))
            {
                return false;
            }
            if (filter.MinAge is not null || filter.MaxAge is not null)
            {
                if (!TryParseStart(progress.StartTime, out var started))
                {
                    return false;
                }
                if (filter.MinAge is { } minimum && started > now - minimum)
                {
                    return false;
                }
                if (filter.MaxAge is { } maximum && started < now - maximum)
                {
                    return false;
                }
            }
            return filter.Tags is null || filter.Tags.All(tag => session.Tags.TryGetValue(tag.Key, out var value) && value == tag.Value);
        };
    }

    /// <summary>Deletes a session; one that runs is stopped first (Ansible ends, its IMS jobs are deleted).</summary>
    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await GetAsync(name, cancellationToken);
        await control.StopAsync(name, TimeSpan.FromMinutes(2));
        await store.WriteAsync(RecordWrite.Delete(CfsCollections.Sessions, name), cancellationToken);
        logs.Delete(name);
    }

    /// <summary>A runner's own progress write, applied atomically.</summary>
    public async Task<SessionRecord> UpdateAsync(string name, Func<SessionRecord, SessionRecord> change, CancellationToken cancellationToken)
        => await store.UpdateAsync<SessionRecord>(CfsCollections.Sessions, name, change, cancellationToken) ?? throw NotFound(name);

    /// <summary>Claims a pending session for a runner by setting its job once; false when someone else has it.</summary>
    public async Task<bool> TryClaimAsync(string name, string job, CancellationToken cancellationToken)
        => await store.UpdateAsync<SessionRecord>(CfsCollections.Sessions, name, session =>
            string.IsNullOrEmpty(session.Status.Session.Job) && session.Status.Session.Status == SessionStates.Pending
                ? session with { Status = session.Status with { Session = session.Status.Session with { Job = job } } }
                : null, cancellationToken) is not null;

    /// <summary>Deletes every matching session; returns their names in order.</summary>
    public async Task<List<string>> DeleteManyAsync(SessionFilter filter, CancellationToken cancellationToken)
    {
        var matches = Matcher(filter);
        var names = new List<string>();
        await foreach (var session in ScanAsync(null, cancellationToken))
        {
            if (matches(session))
            {
                names.Add(session.Name);
            }
        }
        foreach (var name in names)
        {
            await control.StopAsync(name, TimeSpan.FromMinutes(2));
        }
        await store.WriteAsync(names.Select(name => RecordWrite.Delete(CfsCollections.Sessions, name)).ToList(), cancellationToken);
        foreach (var name in names)
        {
            logs.Delete(name);
        }
        return names;
    }

    /// <summary>
    /// A PATCH of <c>status</c>: artifacts are appended unless already there, session fields merge
    /// (an empty value never overwrites), status and succeeded only move forward, and in v3 a set
    /// <c>job</c> cannot be set again (409).
    /// </summary>
    public async Task<SessionRecord> PatchAsync(string name, JsonNode? body, CfsApiVersion version, CancellationToken cancellationToken)
    {
        var reader = SchemaReader.Of(body, "");
        if (reader.Body.Any(pair => pair.Key != "status"))
        {
            throw CfsProblems.BadRequest("Bad Request", "Only status can be updated after session creation");
        }
        var status = reader.Object("status");
        status?.Only(["artifacts", "session"]);
        var artifacts = status?.Array("artifacts", (node, path) =>
        {
            var artifact = SchemaReader.Of(node, path).Only(["image_id", "result_id", "type"]);
            return new SessionArtifact(artifact.String("image_id", nullable: true), artifact.String("result_id", nullable: true), artifact.String("type", nullable: true));
        }) ?? [];
        var progress = status?.Object("session");
        var v3 = version == CfsApiVersion.V3;
        progress?.Only(v3
            ? ["job", "ims_job", "status", "succeeded", "start_time", "completion_time"]
            : ["job", "status", "succeeded", "startTime", "completionTime"]);
        var patchJob = progress?.String("job", nullable: true);
        var patchImsJob = v3 ? progress?.String("ims_job", nullable: true) : null;
        var patchStatus = progress?.Enum("status", SessionStates.Order);
        var patchSucceeded = progress?.Enum("succeeded", SessionResults.Order);
        var patchStart = progress?.String(v3 ? "start_time" : "startTime", nullable: true);
        var patchCompletion = progress?.String(v3 ? "completion_time" : "completionTime", nullable: true);

        SessionRecord? conflict = null;
        var updated = await store.UpdateAsync<SessionRecord>(CfsCollections.Sessions, name, session =>
        {
            var current = session.Status.Session;
            if (v3 && !string.IsNullOrEmpty(current.Job) && !string.IsNullOrEmpty(patchJob))
            {
                conflict = session;
                return null;
            }
            var merged = current with
            {
                Job = Pick(patchJob, current.Job),
                ImsJob = Pick(patchImsJob, current.ImsJob),
                StartTime = Pick(patchStart, current.StartTime),
                CompletionTime = Pick(patchCompletion, current.CompletionTime),
                Status = Forward(SessionStates.Order, current.Status, patchStatus),
                Succeeded = Forward(SessionResults.Order, current.Succeeded, patchSucceeded),
            };
            var allArtifacts = session.Status.Artifacts.ToList();
            foreach (var artifact in artifacts.Where(artifact => !allArtifacts.Contains(artifact)))
            {
                allArtifacts.Add(artifact);
            }
            return session with { Status = new SessionStatus(allArtifacts, merged) };
        }, cancellationToken);
        if (conflict is not null)
        {
            throw CfsProblems.Conflict("Session patch conflict.",
                $"Session {name} could not be patched: status.session.job field cannot be updated after it has been set; current value: {conflict.Status.Session.Job}, patch value: {patchJob}");
        }
        return updated ?? throw NotFound(name);
    }

    /// <summary>The session in a version's shape, keys sorted as the reference serves them.</summary>
    public static JsonObject Shape(SessionRecord session, CfsApiVersion version, string? logsUrl)
    {
        var shaped = (JsonObject)JsonSerializer.SerializeToNode(session, RecordJson.Options)!;
        if (version == CfsApiVersion.V3)
        {
            if (logsUrl is not null)
            {
                shaped["logs"] = logsUrl;
            }
        }
        else
        {
            shaped.Remove("debug_on_failure");
            var progress = (JsonObject)shaped["status"]!["session"]!;
            progress.Remove("ims_job");
            JsonShapes.Rename(progress, "start_time", "startTime");
            JsonShapes.Rename(progress, "completion_time", "completionTime");
        }
        return (JsonObject)JsonShapes.SortKeys(shaped)!;
    }

    public static bool TryParseStart(string? text, out DateTime started)
        => DateTime.TryParseExact(text, StartTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out started);

    private static string? Pick(string? patch, string? current) => string.IsNullOrEmpty(patch) ? current : patch;

    private static string Forward(string[] order, string current, string? patch)
        => patch is null || Array.IndexOf(order, patch) <= Array.IndexOf(order, current) ? current : patch;

    private string Now() => clock.GetUtcNow().UtcDateTime.ToString(StartTimeFormat, CultureInfo.InvariantCulture);

    private static Platform.Problems.ProblemException Conflict(string name)
        => CfsProblems.Conflict("Conflicting session name", $"A session with the name {name} already exists");

    public static Platform.Problems.ProblemException NotFound(string name)
        => CfsProblems.NotFound("Session not found.", $"Session {name} could not be found");
}
