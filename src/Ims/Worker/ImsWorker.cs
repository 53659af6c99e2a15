using Cray.Ims.Jobs;
using Cray.Ims.RemoteBuildNodes;
using Cray.Platform;
using Cray.Platform.Storage;
using Cray.Platform.Work;
using Cray.Processes;
using Microsoft.Extensions.Logging;

namespace Cray.Ims.Worker;

/// <summary>
/// The ims-worker role: claims jobs from the store under its name (one owner per job, with a lease
/// it renews while the job runs) and runs up to <see cref="ImsWorkerOptions.Slots"/> at once. At
/// start it ends the jobs its own earlier run left behind; while it runs it ends the jobs of any
/// worker whose lease expired.
/// </summary>
public sealed class ImsWorker(
    IRecordStore store,
    JobControl control,
    JobRunner runner,
    ImsWorkerOptions options,
    JobLogs logs,
    IProcessRunner processes,
    TimeProvider clock,
    ILogger<ImsWorker> logger) : SlotWorker(control, options.Slots, options.Leases, clock, logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private readonly ProcessIdentity process = ProcessIdentity.Current();

    private readonly DateTimeOffset started = clock.GetUtcNow();

    private string WorkerName => Leases.WorkerName;

    protected override Task RunAsync(string id, CancellationToken cancellationToken) => runner.RunAsync(id, cancellationToken);

    protected override async Task<string> ClaimNextAsync(Func<WorkLease> lease, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Taken before the claim, so that a job created between the claim and the wait is not missed.
            var changed = store.NextChangeAsync(JobService.Collection);
            // A query on the waiting stage, not a read of every job: the poll costs the same with a million finished jobs.
            var claimed = await store.ClaimAsync<JobDocument>(JobService.Collection, RecordStages.Waiting,
                document => document.Worker is null && document.Job.Status == JobStatuses.Creating && options.Architectures.Contains(document.Job.Arch)
                    ? document with { Worker = WorkerName, LeaseExpires = lease().Expires, WaitingReason = null, Job = document.Job with { RemoteBuildNode = WorkerName } }
                    : null,
                cancellationToken);
            if (claimed is not null)
            {
                logs.Append(claimed.Job.Id, $"Claimed by worker {WorkerName}.");
                return claimed.Job.Id;
            }
            // A write to the jobs by any server wakes this at once (LISTEN/NOTIFY on PostgreSQL); the
            // poll bounds the wait when a notification is lost.
            await Task.WhenAny(changed, Task.Delay(PollInterval, Clock, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    protected override async Task RenewAsync(string id, WorkLease lease, CancellationToken cancellationToken)
        => await store.UpdateAsync<JobDocument>(JobService.Collection, id,
            document => document.Worker == WorkerName && !JobStatuses.IsFinal(document.Job.Status) ? document with { LeaseExpires = lease.Expires } : null,
            cancellationToken);

    protected override async Task<bool> StillExistsAsync(string id, CancellationToken cancellationToken)
        => await store.GetAsync<JobDocument>(JobService.Collection, id, cancellationToken) is not null;

    protected override Task ReportAsync(int runningItems, DateTimeOffset now, CancellationToken cancellationToken)
        => store.WriteAsync(RecordWrite.Upsert(WorkerHeartbeat.Collection, WorkerName,
            new WorkerHeartbeat(WorkerName, process, options.Architectures, options.Slots, runningItems, started, now, now + Leases.Duration)), cancellationToken);

    protected override async Task WithdrawAsync()
    {
        var now = Clock.GetUtcNow();
        await store.UpdateAsync<WorkerHeartbeat>(WorkerHeartbeat.Collection, WorkerName,
            heartbeat => heartbeat.Process == process ? heartbeat with { RunningJobs = 0, Seen = now, Expires = now } : null);
    }

    protected override async Task EndExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await EndUnservedAsync(now, cancellationToken);
        foreach (var document in await store.ListInStageAsync<JobDocument>(JobService.Collection, RecordStages.Running, cancellationToken).ToListAsync(cancellationToken))
        {
            if (document.Worker == WorkerName || !IsExpired(document, now))
            {
                continue;
            }
            if (document.Job.Status == JobStatuses.Creating)
            {
                // Claimed but not started: nothing happened that a retry could repeat, so it goes back to the queue.
                var requeued = await store.UpdateAsync<JobDocument>(JobService.Collection, document.Job.Id,
                    current => current.Worker == document.Worker && IsExpired(current, now) && current.Job.Status == JobStatuses.Creating
                        ? current with { Worker = null, LeaseExpires = null, Job = current.Job with { RemoteBuildNode = "" } }
                        : null,
                    cancellationToken);
                if (requeued is not null)
                {
                    logs.Append(document.Job.Id, $"Worker {document.Worker} stopped before it started the job; the job waits for another worker.");
                }
            }
            else
            {
                var expired = document.LeaseExpires is { } expires ? $"its lease expired at {expires:u}" : "it holds no lease";
                await EndInterruptedAsync(document,
                    $"worker {document.Worker} stopped while the job was {document.Job.Status} ({expired}); its sshd and files on that machine are gone with it",
                    current => current.Worker == document.Worker && IsExpired(current, now), cancellationToken);
            }
        }
    }

    /// <summary>
    /// Waiting jobs of an architecture no live worker builds: the job's log says so once, and the job
    /// ends in error when none has come within <see cref="ImsWorkerOptions.ArchitectureWaitTimeout"/>
    /// of its creation. A worker of that architecture that starts in time takes it as usual.
    /// </summary>
    private async Task EndUnservedAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var foreign = await store.ListInStageAsync<JobDocument>(JobService.Collection, RecordStages.Waiting, cancellationToken)
            .Where(document => !options.Architectures.Contains(document.Job.Arch))
            .ToListAsync(cancellationToken);
        if (foreign.Count == 0)
        {
            return;
        }
        var live = (await store.ListAsync<WorkerHeartbeat>(WorkerHeartbeat.Collection, cancellationToken)).Where(heartbeat => heartbeat.IsLive(now)).ToList();
        var liveText = live.Count == 0 ? "none" : string.Join(", ", live.Select(heartbeat => $"{heartbeat.Name} ({string.Join(",", heartbeat.Architectures)})"));
        foreach (var document in foreign.Where(document => !live.Any(heartbeat => heartbeat.Runs(document.Job.Arch))))
        {
            var arch = document.Job.Arch;
            var deadline = Timestamps.Parse(document.Job.Created) + options.ArchitectureWaitTimeout;
            bool StillUnserved(JobDocument current) => current.Worker is null && current.Job.Status == JobStatuses.Creating;
            if (now >= deadline)
            {
                var ended = await store.UpdateAsync<JobDocument>(JobService.Collection, document.Job.Id,
                    current => StillUnserved(current) ? current with { Job = current.Job with { Status = JobStatuses.Error } } : null, cancellationToken);
                if (ended is not null)
                {
                    logs.Append(document.Job.Id, $"Status error: no live ims-worker builds {arch}, and none came within {options.ArchitectureWaitTimeout} (live workers: {liveText}). Start a worker with --ims-worker-arch {arch} and create the job again.");
                    logger.LogWarning("Job {JobId} ended in error: no ims-worker for {Arch} within {Timeout}", document.Job.Id, arch, options.ArchitectureWaitTimeout);
                }
                continue;
            }
            var reason = $"no live ims-worker builds {arch}";
            if (document.WaitingReason != reason)
            {
                var noted = await store.UpdateAsync<JobDocument>(JobService.Collection, document.Job.Id,
                    current => StillUnserved(current) && current.WaitingReason != reason ? current with { WaitingReason = reason } : null, cancellationToken);
                if (noted is not null)
                {
                    logs.Append(document.Job.Id, $"Waiting: {reason} (live workers: {liveText}); the job ends in error unless one starts by {deadline:yyyy-MM-ddTHH:mm:ssZ}.");
                }
            }
        }
    }

    /// <summary>A lease from before leases existed counts as expired.</summary>
    private static bool IsExpired(JobDocument document, DateTimeOffset now) => document.LeaseExpires is not { } expires || expires <= now;

    /// <summary>
    /// Jobs this worker's earlier run left part-way end in error with the reason (or in success when
    /// their image was already registered); every job directory on this machine is a leftover, since
    /// this run has started nothing yet. Other workers' jobs are theirs until their lease expires.
    /// </summary>
    protected override async Task RecoverAsync(CancellationToken cancellationToken)
    {
        // Jobs an older server stored have no stage yet; from here on every write keeps it.
        await store.RestageAsync<JobDocument>(JobService.Collection, cancellationToken);
        foreach (var document in await store.ListInStageAsync<JobDocument>(JobService.Collection, RecordStages.Running, cancellationToken).ToListAsync(cancellationToken))
        {
            if (document.Worker == WorkerName)
            {
                await EndInterruptedAsync(document, $"cray-server stopped while the job was {document.Job.Status}; its sshd and files were cleaned up",
                    current => current.Worker == WorkerName, cancellationToken);
            }
        }
        if (Directory.Exists(options.JobsDirectory))
        {
            foreach (var directory in Directory.EnumerateDirectories(options.JobsDirectory))
            {
                await new JobWorkspace(options.JobsDirectory, Path.GetFileName(directory)).CleanupAsync(processes, line => logger.LogInformation("{Line}", line));
            }
        }
    }

    /// <summary>
    /// Ends a job its worker can no longer finish: in success when its image was registered and
    /// linked (the job only missed saying so), otherwise in error after removing the half-made
    /// image. <paramref name="stillInterrupted"/> guards the final write against a change meanwhile.
    /// </summary>
    private async Task EndInterruptedAsync(JobDocument document, string reason, Func<JobDocument, bool> stillInterrupted, CancellationToken cancellationToken)
    {
        var jobId = document.Job.Id;
        var status = document.Job.Status;
        void Log(string line) => logs.Append(jobId, line);
        if (document.Worker == WorkerName)
        {
            await new JobWorkspace(options.JobsDirectory, jobId).CleanupAsync(processes, Log);
        }
        if (await runner.SettleInterruptedResultAsync(document, Log, cancellationToken) is { } resultId)
        {
            var ended = await store.UpdateAsync<JobDocument>(JobService.Collection, jobId,
                current => stillInterrupted(current) && !JobStatuses.IsFinal(current.Job.Status)
                    ? current with { Job = current.Job with { Status = JobStatuses.Success, ResultantImageId = resultId } }
                    : null, cancellationToken);
            if (ended is not null)
            {
                Log($"Success: image {resultId} '{document.Job.ImageRootArchiveName}' ({reason}, just after the image was registered).");
                logger.LogWarning("Job {JobId} was left {Status} with its image registered ({Reason}); ended it in success", jobId, status, reason);
            }
            return;
        }
        var failed = await store.UpdateAsync<JobDocument>(JobService.Collection, jobId,
            current => stillInterrupted(current) && !JobStatuses.IsFinal(current.Job.Status) ? current with { Job = current.Job with { Status = JobStatuses.Error } } : null,
            cancellationToken);
        if (failed is not null)
        {
            Log($"Status error: {reason}. Create a new job to try again.");
            logger.LogWarning("Job {JobId} was left {Status}: {Reason}; ended it in error", jobId, status, reason);
        }
    }
}
