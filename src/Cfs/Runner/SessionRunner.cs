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
    TimeProvider clock,
    ILogger<SessionRunner> logger) : SlotWorker(control, options.Slots, logger)
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

    protected override async Task<string> ClaimNextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await sessions.ClaimNextAsync($"cfs-{Guid.NewGuid()}", cancellationToken) is { } claimed)
            {
                return claimed.Name;
            }
            await Task.Delay(PollInterval, clock, cancellationToken);
        }
    }

    /// <summary>A session with a job that is not complete was running when the server stopped: it cannot be resumed, so it ends as failed.</summary>
    protected override async Task RecoverAsync(CancellationToken cancellationToken)
    {
        await nodeIdentity.EnsureAsync(cancellationToken);
        logger.LogInformation("CFS logs into nodes (spec and repo targets) as root with {PrivateKey}; put {PublicKey} into the nodes' authorized_keys",
            nodeIdentity.PrivateKey, nodeIdentity.PublicKey);
        // First what a crash left running and on disk, so that a session shown complete has nothing left.
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
        foreach (var name in (await sessions.ListRunningAsync(cancellationToken)).Select(session => session.Name))
        {
            logs.Append(name, "cray-server stopped while this session ran; it ends as failed (its IMS jobs were ended by the IMS worker). Create a new session to run it again.");
            await sessions.UpdateAsync(name, current => current with
            {
                Status = current.Status with
                {
                    Session = current.Status.Session with
                    {
                        Status = SessionStates.Complete,
                        Succeeded = SessionResults.False,
                        CompletionTime = clock.GetUtcNow().UtcDateTime.ToString(SessionService.StartTimeFormat, System.Globalization.CultureInfo.InvariantCulture),
                    },
                },
            }, cancellationToken);
            logger.LogWarning("Session {Session} was left running by a previous run; completed it as failed", name);
        }
    }
}
