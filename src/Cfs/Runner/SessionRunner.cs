using Cray.Cfs.Model;
using Cray.Cfs.Sessions;
using Cray.Platform.Work;
using Cray.Processes;
using Microsoft.Extensions.Logging;

namespace Cray.Cfs.Runner;

/// <summary>
/// The cfs-runner role: claims pending sessions (setting their job once, so each has one owner)
/// and runs up to <see cref="CfsRunnerOptions.Slots"/> at once. Sessions a crash left running are
/// completed as failed at start, with the reason in their log.
/// </summary>
public sealed class SessionRunner(
    SessionService sessions,
    SessionExecutor executor,
    SessionControl control,
    SessionLogs logs,
    CfsRunnerOptions options,
    NodeIdentity nodeIdentity,
    ImsClient ims,
    TimeProvider clock,
    ILogger<SessionRunner> logger) : SlotWorker(control, options.Slots, options.Leases, clock, logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    protected override async Task RunAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await executor.RunAsync(id, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logs.Append(id, $"Internal error: {exception.Message}");
            throw;
        }
    }

    protected override async Task<string> ClaimNextAsync(Func<WorkLease> lease, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Taken before the claim, so that a session created between the claim and the wait is not missed.
            var changed = sessions.NextChangeAsync();
            if (await sessions.ClaimNextAsync($"cfs-{Guid.NewGuid()}", lease(), cancellationToken) is { } claimed)
            {
                return claimed.Name;
            }
            // Any server's write to the sessions wakes this at once (LISTEN/NOTIFY on PostgreSQL); the poll bounds the wait.
            await Task.WhenAny(changed, Task.Delay(PollInterval, Clock, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    protected override Task RenewAsync(string id, WorkLease lease, CancellationToken cancellationToken) => sessions.RenewAsync(id, lease, cancellationToken);

    protected override async Task<bool> StillExistsAsync(string id, CancellationToken cancellationToken)
        => await sessions.ExistsAsync(id, cancellationToken);

    protected override async Task EndExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var session in await sessions.ListRunningAsync(cancellationToken))
        {
            if (session.Runner?.Holder == Leases.WorkerName || !IsExpired(session, now))
            {
                continue;
            }
            if (session.Status.Session.Status == SessionStates.Pending)
            {
                // Claimed but not started: nothing happened that a retry could repeat, so it goes back to the queue.
                var requeued = await sessions.TryUpdateAsync(session.Name, current =>
                    current.Runner?.Holder == session.Runner?.Holder && IsExpired(current, now) && current.Status.Session.Status == SessionStates.Pending
                        ? current with { Status = current.Status with { Session = current.Status.Session with { Job = null } }, Runner = null }
                        : null, cancellationToken);
                if (requeued is not null)
                {
                    logs.Append(session.Name, $"Runner {session.Runner?.Holder ?? "(unknown)"} stopped before it started this session; it waits for another runner.");
                }
            }
            else
            {
                var runner = session.Runner is { } lease ? $"runner {lease.Holder} stopped (its lease expired at {lease.Expires:u})" : "the runner that claimed it holds no lease";
                await CompleteInterruptedAsync(session.Name, $"{runner} while this session ran",
                    current => current.Runner?.Holder == session.Runner?.Holder && IsExpired(current, now), cancellationToken);
            }
        }
    }

    /// <summary>A session claimed before leases existed counts as expired.</summary>
    private static bool IsExpired(SessionRecord session, DateTimeOffset now) => session.Runner?.HasExpired(now) ?? true;

    /// <summary>
    /// Sessions this runner's earlier run left running cannot be resumed: they end as failed. What a
    /// crash left on disk goes first, so that a session shown complete has nothing left. Other
    /// runners' sessions are theirs until their lease expires.
    /// </summary>
    protected override async Task RecoverAsync(CancellationToken cancellationToken)
    {
        await nodeIdentity.EnsureAsync(cancellationToken);
        logger.LogInformation("CFS logs into nodes (spec and repo targets) as root with {PrivateKey}; put {PublicKey} into the nodes' authorized_keys",
            nodeIdentity.PrivateKey, nodeIdentity.PublicKey);
        var directory = options.SessionsDirectory;
        if (Directory.Exists(directory))
        {
            // ansible-playbook sandboxes (and their SSH connections) a crash left running.
            ProcessTree.StopProcessesUsing(directory, line => logger.LogWarning("{Line}", line));
            foreach (var leftover in Directory.EnumerateDirectories(directory))
            {
                Directory.Delete(leftover, recursive: true);
            }
        }
        await sessions.RestageAsync(cancellationToken);
        foreach (var session in await sessions.ListRunningAsync(cancellationToken))
        {
            if (session.Runner is null || session.Runner.Holder == Leases.WorkerName)
            {
                await CompleteInterruptedAsync(session.Name, "cray-server stopped while this session ran",
                    current => current.Runner?.Holder == session.Runner?.Holder, cancellationToken);
            }
        }
    }

    /// <summary>Completes a session its runner can no longer finish as failed, saying why; <paramref name="stillInterrupted"/> guards against a change meanwhile.</summary>
    private async Task CompleteInterruptedAsync(string name, string reason, Func<SessionRecord, bool> stillInterrupted, CancellationToken cancellationToken)
    {
        var completed = await sessions.TryUpdateAsync(name, current => stillInterrupted(current) && current.Status.Session.Status != SessionStates.Complete
            ? current with
            {
                Status = current.Status with
                {
                    Session = current.Status.Session with
                    {
                        Status = SessionStates.Complete,
                        Succeeded = SessionResults.False,
                        CompletionTime = Clock.GetUtcNow().UtcDateTime.ToString(SessionService.StartTimeFormat, System.Globalization.CultureInfo.InvariantCulture),
                    },
                },
            }
            : null, cancellationToken);
        if (completed is not null)
        {
            logs.Append(name, $"{reason}; it ends as failed. Create a new session to run it again.");
            logger.LogWarning("Session {Session}: {Reason}; completed it as failed", name, reason);
            // Not awaited: each deletion may wait minutes for a busy IMS, and this runs in the loop that renews leases.
            _ = DeleteImsJobsAsync(completed);
        }
    }

    /// <summary>
    /// The IMS jobs an interrupted session started would wait for its signal until their user-wait
    /// timeout; deleting them stops their jails on whichever worker runs them and keeps no image.
    /// </summary>
    private async Task DeleteImsJobsAsync(SessionRecord session)
    {
        foreach (var jobId in session.ImsJobs ?? [])
        {
            try
            {
                await ims.DeleteJobAsync(jobId, CancellationToken.None);
                logs.Append(session.Name, $"Deleted IMS job {jobId}, which the interrupted session had started.");
            }
            catch (Exception exception)
            {
                logs.Append(session.Name, $"Could not delete IMS job {jobId} ({exception.Message}); it ends at its user-wait timeout, or delete it with cray ims jobs delete {jobId}.");
            }
        }
    }
}
