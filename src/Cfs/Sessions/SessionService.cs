using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cfs.Configurations;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Platform.Storage;
using Cray.Platform.Work;

namespace Cray.Cfs.Sessions;

/// <summary>Sessions: create with the reference's checks in order, read, filter, page, patch monotonically, delete.</summary>
public sealed class SessionService(IRecordStore store, ConfigurationService configurations, OptionsService options, Runner.SessionControl control, Runner.SessionLogs logs, TimeProvider clock)
{
    public const string StartTimeFormat = "yyyy-MM-dd'T'HH:mm:ss";

    public async Task<SessionRecord> CreateAsync(SessionCreate request, CancellationToken cancellationToken)
    {
        if (await store.GetAsync<SessionRecord>(CfsCollections.Sessions, request.Name, cancellationToken) is not null)
        {
            throw Conflict(request.Name);
        }
        var isDebug = request.AllowsDebugConfigurations && request.ConfigurationName.StartsWith("debug_", StringComparison.Ordinal);
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
            request.Target)
        {
            LayerCache = request.LayerCache,
        };
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

    /// <summary>
    /// Sessions after <paramref name="afterId"/> in name order; with a filter, the database leaves out
    /// those whose status or tags cannot match (<see cref="Matcher"/> still decides: ages and name parts are not stored fields).
    /// </summary>
    public IAsyncEnumerable<SessionRecord> ScanAsync(string? afterId, CancellationToken cancellationToken, SessionFilter? filter = null)
        => store.ScanByIdAsync<SessionRecord>(CfsCollections.Sessions, afterId, filter is null ? null : StoredFields(filter), cancellationToken);

    private static JsonObject? StoredFields(SessionFilter filter)
    {
        var pattern = new JsonObject();
        var progress = new JsonObject();
        if (filter.Status is { } status)
        {
            progress["status"] = status;
        }
        if (filter.Succeeded is { } succeeded)
        {
            progress["succeeded"] = succeeded;
        }
        if (progress.Count > 0)
        {
            pattern["status"] = new JsonObject { ["session"] = progress };
        }
        if (filter.Tags is { Count: > 0 } tags)
        {
            pattern["tags"] = new JsonObject(tags.Select(tag => KeyValuePair.Create(tag.Key, (JsonNode?)tag.Value)));
        }
        return pattern.Count == 0 ? null : pattern;
    }

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
        await logs.DeleteAsync(name, cancellationToken);
    }

    /// <summary>
    /// Asks the runner of a session holding after a failure (debug_on_failure) to end the hold: the
    /// runner, on whichever server, reads it from the store. 409 when the session is not holding.
    /// </summary>
    public async Task<SessionRecord> ReleaseAsync(string name, CancellationToken cancellationToken)
    {
        var existing = await GetAsync(name, cancellationToken);
        var released = await TryUpdateAsync(name, session => session.DebugHold is { } hold ? session with { DebugHold = hold with { Released = true } } : null, cancellationToken);
        return released ?? throw CfsProblems.Conflict("Session not holding",
            existing.DebugOnFailure
                ? $"Session {name} is not holding for debugging: a debug_on_failure session holds only after a layer fails, for the debug_wait_time option."
                : $"Session {name} was not created with debug_on_failure, so it never holds for debugging.");
    }

    /// <summary>A runner's own progress write, applied atomically.</summary>
    public async Task<SessionRecord> UpdateAsync(string name, Func<SessionRecord, SessionRecord> change, CancellationToken cancellationToken)
        => await store.UpdateAsync<SessionRecord>(CfsCollections.Sessions, name, change, cancellationToken) ?? throw NotFound(name);

    /// <summary>
    /// Claims the oldest pending session for a runner by setting its job, once: no other runner, here
    /// or on another server, takes the same session. Null when none is waiting.
    /// </summary>
    public async Task<SessionRecord?> ClaimNextAsync(string job, WorkLease lease, CancellationToken cancellationToken)
        => await store.ClaimAsync<SessionRecord>(CfsCollections.Sessions, RecordStages.Waiting, session =>
            string.IsNullOrEmpty(session.Status.Session.Job) && session.Status.Session.Status == SessionStates.Pending
                ? session with { Status = session.Status with { Session = session.Status.Session with { Job = job } }, Runner = lease }
                : null, cancellationToken);

    /// <summary>Extends the lease of a session the lease's holder still runs.</summary>
    public async Task RenewAsync(string name, WorkLease lease, CancellationToken cancellationToken)
        => await store.UpdateAsync<SessionRecord>(CfsCollections.Sessions, name, session =>
            session.Runner?.Holder == lease.Holder && session.Status.Session.Status != SessionStates.Complete ? session with { Runner = lease } : null,
            cancellationToken);

    /// <summary>Completes at the next write to the sessions, by any server sharing the store.</summary>
    public Task NextChangeAsync() => store.NextChangeAsync(CfsCollections.Sessions);

    /// <summary>Sessions an older server stored have no stage yet: gives them theirs (from here on every write keeps it).</summary>
    public Task RestageAsync(CancellationToken cancellationToken) => store.RestageAsync<SessionRecord>(CfsCollections.Sessions, cancellationToken);

    /// <summary>Sessions a runner claimed that have not completed.</summary>
    public async Task<List<SessionRecord>> ListRunningAsync(CancellationToken cancellationToken)
        => await store.ListInStageAsync<SessionRecord>(CfsCollections.Sessions, RecordStages.Running, cancellationToken).ToListAsync(cancellationToken);

    public async Task<bool> ExistsAsync(string name, CancellationToken cancellationToken)
        => await FindAsync(name, cancellationToken) is not null;

    /// <summary>The session, or null once it is gone.</summary>
    public Task<SessionRecord?> FindAsync(string name, CancellationToken cancellationToken)
        => store.GetAsync<SessionRecord>(CfsCollections.Sessions, name, cancellationToken);

    /// <summary>Applies a change when <paramref name="change"/> returns one; null when it did not (or the session is gone).</summary>
    public Task<SessionRecord?> TryUpdateAsync(string name, Func<SessionRecord, SessionRecord?> change, CancellationToken cancellationToken)
        => store.UpdateAsync(CfsCollections.Sessions, name, change, cancellationToken);

    /// <summary>Deletes every matching session; returns their names in order.</summary>
    public async Task<List<string>> DeleteManyAsync(SessionFilter filter, CancellationToken cancellationToken)
    {
        var matches = Matcher(filter);
        var names = new List<string>();
        await foreach (var session in ScanAsync(null, cancellationToken, filter))
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
            await logs.DeleteAsync(name, cancellationToken);
        }
        return names;
    }

    /// <summary>
    /// A PATCH of <c>status</c>: artifacts are appended unless already there, session fields merge
    /// (an empty value never overwrites), status and succeeded only move forward, and in v3 a set
    /// <c>job</c> cannot be set again (409).
    /// </summary>
    public async Task<SessionRecord> PatchAsync(string name, SessionPatch patch, CancellationToken cancellationToken)
    {
        SessionRecord? conflict = null;
        var updated = await store.UpdateAsync<SessionRecord>(CfsCollections.Sessions, name, session =>
        {
            var current = session.Status.Session;
            if (patch.JobIsSetOnce && !string.IsNullOrEmpty(current.Job) && !string.IsNullOrEmpty(patch.Job))
            {
                conflict = session;
                return null;
            }
            var merged = current with
            {
                Job = Pick(patch.Job, current.Job),
                ImsJob = Pick(patch.ImsJob, current.ImsJob),
                StartTime = Pick(patch.StartTime, current.StartTime),
                CompletionTime = Pick(patch.CompletionTime, current.CompletionTime),
                Status = Forward(SessionStates.Order, current.Status, patch.Status),
                Succeeded = Forward(SessionResults.Order, current.Succeeded, patch.Succeeded),
            };
            var allArtifacts = session.Status.Artifacts.ToList();
            foreach (var artifact in patch.Artifacts.Where(artifact => !allArtifacts.Contains(artifact)))
            {
                allArtifacts.Add(artifact);
            }
            return session with { Status = new SessionStatus(allArtifacts, merged) };
        }, cancellationToken);
        if (conflict is not null)
        {
            throw CfsProblems.Conflict("Session patch conflict.",
                $"Session {name} could not be patched: status.session.job field cannot be updated after it has been set; current value: {conflict.Status.Session.Job}, patch value: {patch.Job}");
        }
        return updated ?? throw NotFound(name);
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
