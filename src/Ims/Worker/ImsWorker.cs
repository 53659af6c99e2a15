using Cray.Ims.Jobs;
using Cray.Platform.Storage;
using Cray.Platform.Work;
using Cray.Processes;
using Microsoft.Extensions.Logging;

namespace Cray.Ims.Worker;

/// <summary>
/// The ims-worker role: claims jobs from the store (one owner per job) and runs up to
/// <see cref="ImsWorkerOptions.Slots"/> at once. At start it ends the jobs a crash left behind.
/// </summary>
public sealed class ImsWorker(
    IRecordStore store,
    JobControl control,
    JobRunner runner,
    ImsWorkerOptions options,
    JobLogs logs,
    IProcessRunner processes,
    ILogger<ImsWorker> logger) : SlotWorker(control, options.Slots, logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private readonly string workerName = $"{Environment.MachineName}:{Environment.ProcessId}";

    protected override Task RunAsync(string id, CancellationToken cancellationToken) => runner.RunAsync(id, cancellationToken);

    protected override async Task<string> ClaimNextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // A query on the waiting stage, not a read of every job: the poll costs the same with a million finished jobs.
            var claimed = await store.ClaimAsync<JobDocument>(JobService.Collection, RecordStages.Waiting,
                document => document.Worker is null && document.Job.Status == JobStatuses.Creating ? document with { Worker = workerName } : null,
                cancellationToken);
            if (claimed is not null)
            {
                logs.Append(claimed.Job.Id, $"Claimed by worker {workerName}.");
                return claimed.Job.Id;
            }
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(PollInterval);
            try
            {
                await control.Created.WaitToReadAsync(wait.Token);
                while (control.Created.TryRead(out _))
                {
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Poll again: another process may have created jobs.
            }
        }
    }

    /// <summary>
    /// Jobs a crash left part-way are stopped and cleaned up, and end in error with the reason; job
    /// directories no record owns are removed. Jobs that never started run as usual.
    /// </summary>
    protected override async Task RecoverAsync(CancellationToken cancellationToken)
    {
        // Jobs an older server stored have no stage yet; from here on every write keeps it.
        await store.RestageAsync<JobDocument>(JobService.Collection, cancellationToken);
        var interrupted = await store.ListInStageAsync<JobDocument>(JobService.Collection, RecordStages.Running, cancellationToken).ToListAsync(cancellationToken);
        foreach (var document in interrupted)
        {
            var jobId = document.Job.Id;
            var status = document.Job.Status;
            void Log(string line) => logs.Append(jobId, line);
            await new JobWorkspace(options.JobsDirectory, jobId).CleanupAsync(processes, Log);
            if (await runner.SettleInterruptedResultAsync(document, Log, cancellationToken) is { } resultId)
            {
                Log($"Success: image {resultId} '{document.Job.ImageRootArchiveName}' (cray-server stopped just before the job could say so).");
                await store.UpdateAsync<JobDocument>(JobService.Collection, jobId,
                    current => current with { Job = current.Job with { Status = JobStatuses.Success, ResultantImageId = resultId } }, cancellationToken);
                logger.LogWarning("Job {JobId} was left {Status} by a previous run with its image registered; ended it in success", jobId, status);
                continue;
            }
            Log($"Status error: cray-server stopped while the job was {status}; its sshd and files were cleaned up. Create a new job to try again.");
            await store.UpdateAsync<JobDocument>(JobService.Collection, jobId,
                current => current with { Job = current.Job with { Status = JobStatuses.Error } }, cancellationToken);
            logger.LogWarning("Job {JobId} was left {Status} by a previous run; ended it in error", jobId, status);
        }
        if (Directory.Exists(options.JobsDirectory))
        {
            var known = (await store.ListAsync<JobDocument>(JobService.Collection, cancellationToken)).Select(document => document.Job.Id).ToHashSet();
            foreach (var directory in Directory.EnumerateDirectories(options.JobsDirectory))
            {
                var jobId = Path.GetFileName(directory);
                if (!known.Contains(jobId))
                {
                    await new JobWorkspace(options.JobsDirectory, jobId).CleanupAsync(processes, line => logger.LogInformation("{Line}", line));
                }
            }
        }
    }
}
