using System.Diagnostics;
using System.Globalization;
using Cray.Artifacts;
using Cray.Ims.Jobs;
using Cray.Ims.Manifests;
using Cray.Ims.Model;
using Cray.Platform.Storage;
using Cray.Processes;

namespace Cray.Ims.Worker;

/// <summary>
/// Runs one job. Customize: stage the image root (the cached source under an overlay), serve it over a private sshd, wait for
/// the user's signal. Create: build the image root from a recipe with kiwi-ng. Then pack, upload
/// and register the result. Whatever happens, it leaves no
/// sshd, mount, job directory or half-registered image behind.
/// </summary>
public sealed class JobRunner(
    IRecordStore store,
    IArtifactStore artifacts,
    IImageRegistry images,
    ImsWorkerOptions options,
    JobLogs logs,
    IProcessRunner runner,
    RecipeBuild recipeBuild,
    SourceCache sourceCache,
    TimeProvider clock)
{
    public const string BootImagesBucket = "boot-images";

    public async Task RunAsync(string jobId, CancellationToken cancellationToken)
    {
        void Log(string line) => logs.Append(jobId, line);
        var workspace = new JobWorkspace(options.JobsDirectory, jobId);
        var document = await store.GetAsync<JobDocument>(JobService.Collection, jobId, cancellationToken);
        if (document is null)
        {
            return;
        }
        var job = document.Job;
        var jail = job.SshContainers is [{ Jail: true }, ..];
        var created = new CreatedImage();
        await using var sshServer = new JobSshServer(workspace, options, runner, Log);
        var layering = new JobLayering(store, artifacts, sourceCache, jobId, Log, clock);
        IStagedImageRoot? imageRoot = null;
        string? failure = null;
        var stopped = false;
        try
        {
            if (job.JobType == JobTypes.Create)
            {
                imageRoot = await BuildFromRecipeAsync(document, workspace, sshServer, sandbox => imageRoot = sandbox, Log, cancellationToken);
            }
            else
            {
                OverlayImageRoot? overlay = null;
                await SetStatusAsync(jobId, JobStatuses.FetchingImage, cancellationToken);
                await PhaseAsync(jobId, "fetching_image", async () => imageRoot = overlay = await StageAsync(document, workspace, jail, layering, cancellationToken));
                // Layers sealed before a failure are still stored (the cleanup waits for them): a later job can start from them.
                var signal = await ServeUntilSignalAsync(document, workspace, sshServer, jail, overlay, layering, Log, cancellationToken);
                if (signal == UserSignal.Failed)
                {
                    throw new JobFailedException("The user signalled failure (failed file); no image was made.");
                }
            }

            await SetStatusAsync(jobId, JobStatuses.PackagingArtifacts, cancellationToken);
            await workspace.UnmountAllAsync(runner, Log);
            await PhaseAsync(jobId, "packaging_artifacts", () => PackageAsync(document, workspace, imageRoot!, created, cancellationToken));
            await UpdateAsync(jobId, current => current with { ResultantImageId = created.ImageId }, cancellationToken);
        }
        catch (Exception exception) when (exception is OperationCanceledException or JobDeletedException)
        {
            Log("Stopped: the job was deleted or the server is shutting down.");
            failure = exception is JobDeletedException || !cancellationToken.IsCancellationRequested
                ? null
                : "The job was stopped before it finished (job deleted or cray-server stopping).";
            stopped = true;
        }
        catch (Exception exception)
        {
            failure = exception is JobFailedException or ProcessFailedException or InvalidOperationException or ArtifactException
                ? exception.Message
                : exception.ToString();
            Log($"Error: {failure}");
        }
        finally
        {
            await sshServer.StopAsync();
            // A store still packing reads a layer's directory: it ends (or is cancelled) before the directory goes.
            await layering.WhenStoredAsync();
            if (imageRoot is not null)
            {
                await imageRoot.DisposeAsync();
            }
            await workspace.CleanupAsync(runner, Log);
        }

        // The final status is written only once everything is cleaned up, so whoever sees it
        // finds no sshd, mount or job directory left.
        if (failure is null && !stopped)
        {
            try
            {
                // Logged first: a follower of the log stops reading once the status is final.
                Log($"Success: image {created.ImageId} '{job.ImageRootArchiveName}'.");
                await FlushLogAsync();
                await SetStatusAsync(jobId, JobStatuses.Success, CancellationToken.None);
                JobMetrics.Finished.Add(1, new KeyValuePair<string, object?>("status", JobStatuses.Success));
            }
            catch (JobDeletedException)
            {
                // Deleted at the last moment: the registered image stays, as images outlive their jobs.
            }
            return;
        }
        await RemoveCreatedImageAsync(created, Log);
        if (failure is not null)
        {
            await TryMarkErrorAsync(jobId, failure);
        }
        JobMetrics.Finished.Add(1, new KeyValuePair<string, object?>("status", failure is null ? "stopped" : JobStatuses.Error));
    }

    /// <summary>
    /// Serves the image root over the job's sshd (waiting_on_user) until the user touches complete
    /// or failed, or --ims-user-wait-timeout passes; then stops sshd and returns the signal. A layered
    /// job's request to seal its layer (POST /jobs/{id}/layers) stops sshd, seals the layer and serves
    /// the jail again on a fresh one, with a full --ims-user-wait-timeout.
    /// </summary>
    private async Task<UserSignal> ServeUntilSignalAsync(JobDocument document, JobWorkspace workspace, JobSshServer sshServer, bool jail, OverlayImageRoot? overlay,
        JobLayering? layering, Action<string> log, CancellationToken cancellationToken)
    {
        var job = document.Job;
        var served = 0;
        while (true)
        {
            await PhaseAsync(job.Id, "starting sshd", () => sshServer.StartAsync(job, document.AuthorizedKey, jail, overlay?.MountNamespace, cancellationToken));
            await UpdateAsync(job.Id, current => current with
            {
                Status = JobStatuses.WaitingOnUser,
                SshContainers = current.SshContainers?
                    // The worker's own address and paths: the API that created the job may run on another machine.
                    .Select(container => container with
                    {
                        ConnectionInfo = SshContainer.Endpoints(options.SshAddress, sshServer.Port),
                        ImageRoot = container.Jail ? null : workspace.ImageRoot,
                    })
                    .ToList(),
            }, cancellationToken);
            // The user's complete/failed files: /tmp inside a jail, the job directory without one.
            var signalDirectory = jail ? Path.Combine(overlay?.HostView ?? workspace.ImageRoot, "tmp") : workspace.Directory;
            if (served++ == 0)
            {
                log($"Waiting on the user: ssh -p {sshServer.Port} root@{options.SshAddress}, then touch {(jail ? "/tmp" : workspace.Directory)}/complete (or failed).");
                if (!jail)
                {
                    log($"Without a jail the image root is {workspace.ImageRoot}.");
                }
            }
            else
            {
                log($"Waiting on the user again, on layer {overlay!.Layers.Count + 1}: ssh -p {sshServer.Port} root@{options.SshAddress}.");
            }

            var stopwatch = Stopwatch.StartNew();
            using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var signalWait = UserSignals.WaitAsync(signalDirectory, options.UserWaitTimeout, clock, watch.Token);
            var sealWait = overlay is null || layering is null ? Task.Delay(Timeout.Infinite, watch.Token).ContinueWith(_ => (JobLayer?)null, TaskScheduler.Default)
                : WaitForSealAsync(layering, watch.Token);
            await Task.WhenAny(signalWait, sealWait);
            await watch.CancelAsync();
            var signal = await Settled(signalWait);
            var seal = await Settled(sealWait);
            cancellationToken.ThrowIfCancellationRequested();
            if (signal is null && seal is not null)
            {
                log($"Phase waiting_on_user finished in {Seconds(stopwatch.Elapsed)}: layer {seal.Index} to be sealed.");
                await sshServer.WaitForSessionsToEndAsync(TimeSpan.FromSeconds(3));
                await sshServer.StopAsync();
                await PhaseAsync(job.Id, "sealing_layer", () => layering!.SealAsync(overlay!, seal, cancellationToken));
                continue;
            }
            log($"Phase waiting_on_user finished in {Seconds(stopwatch.Elapsed)}: {(signal?.ToString().ToLowerInvariant() ?? "no signal")}.");
            if (signal is not null)
            {
                await sshServer.WaitForSessionsToEndAsync(TimeSpan.FromSeconds(3));
            }
            await sshServer.StopAsync();
            UserSignals.Remove(signalDirectory);
            return signal ?? throw new JobFailedException($"No complete or failed signal within {options.UserWaitTimeout} (--ims-user-wait-timeout); the job was stopped.");
        }
    }

    private static async Task<JobLayer?> WaitForSealAsync(JobLayering layering, CancellationToken cancellationToken) => await layering.WaitForSealRequestAsync(cancellationToken);

    /// <summary>The result of a wait that was either first or cancelled because the other one was.</summary>
    private static async Task<T?> Settled<T>(Task<T?> wait)
    {
        try
        {
            return await wait;
        }
        catch (OperationCanceledException)
        {
            return default;
        }
    }

    /// <summary>
    /// A create job up to packaging: fetch the recipe, wait for its repositories, build the image
    /// root with kiwi-ng. With enable_debug, a failed build opens a debug shell (waiting_on_user)
    /// before the job ends in error, as in the reference.
    /// </summary>
    /// <param name="created">Told of the build sandbox as soon as it exists, so that the caller disposes of it whatever happens next.</param>
    private async Task<RecipeBuildSandbox> BuildFromRecipeAsync(JobDocument document, JobWorkspace workspace, JobSshServer sshServer, Action<RecipeBuildSandbox> created,
        Action<string> log, CancellationToken cancellationToken)
    {
        var jobId = document.Job.Id;
        var description = "";
        await SetStatusAsync(jobId, JobStatuses.FetchingRecipe, cancellationToken);
        await PhaseAsync(jobId, "fetching_recipe", async () => description = await recipeBuild.FetchAsync(document, workspace, cancellationToken));
        await SetStatusAsync(jobId, JobStatuses.WaitingForRepos, cancellationToken);
        await PhaseAsync(jobId, "waiting_for_repos", () => recipeBuild.WaitForRepositoriesAsync(jobId, description, cancellationToken));
        await SetStatusAsync(jobId, JobStatuses.BuildingImage, cancellationToken);
        var sandbox = await RecipeBuildSandbox.CreateAsync(workspace, runner, cancellationToken);
        created(sandbox);
        try
        {
            await PhaseAsync(jobId, "building_image", () => recipeBuild.BuildAsync(jobId, description, sandbox, cancellationToken));
        }
        catch (JobFailedException exception) when (document.Job.EnableDebug)
        {
            log($"The build failed: {exception.Message} enable_debug: the build environment stays up for debugging; the job ends in error afterwards.");
            await workspace.UnmountAllAsync(runner, log);
            try
            {
                await ServeUntilSignalAsync(document, workspace, sshServer, jail: false, overlay: null, layering: null, log, cancellationToken);
            }
            catch (JobFailedException debugFailure)
            {
                // The build's failure is the job's error; the debug shell's own end is only logged.
                log($"Debug shell: {debugFailure.Message}");
            }
            throw;
        }
        return sandbox;
    }

    /// <summary>
    /// Stages the source image root without unpacking it: the verified source from the worker's
    /// cache, mounted under an overlay in the job's own mount namespace.
    /// </summary>
    private async Task<OverlayImageRoot> StageAsync(JobDocument document, JobWorkspace workspace, bool jail, JobLayering layering, CancellationToken cancellationToken)
    {
        void Log(string line) => logs.Append(document.Job.Id, line);
        workspace.Create();
        var source = await sourceCache.AcquireAsync(document.RootfsPath, document.RootfsMd5, Log, cancellationToken);
        List<CachedSource> restored = [];
        OverlayImageRoot overlay;
        try
        {
            restored = document.Job.Layers is { Count: > 0 } requested ? await layering.RestoreAsync(requested, cancellationToken) : [];
            overlay = await OverlayImageRoot.MountAsync(workspace, source, restored, runner, options, clock, Log, cancellationToken);
        }
        catch
        {
            source.Dispose();
            restored.ForEach(layer => layer.Dispose());
            throw;
        }
        if (jail)
        {
            var tmp = Path.Combine(overlay.HostView, "tmp");
            if (File.Exists(tmp) || (Directory.Exists(tmp) && new DirectoryInfo(tmp).LinkTarget is not null))
            {
                await overlay.DisposeAsync();
                throw new JobFailedException("The image's /tmp is not a directory; the jail needs one for the complete/failed signal files.");
            }
            Directory.CreateDirectory(tmp);
            File.SetUnixFileMode(tmp, (UnixFileMode)Convert.ToInt32("1777", 8));
            UserSignals.Remove(tmp);
        }
        return overlay;
    }

    private async Task PackageAsync(JobDocument document, JobWorkspace workspace, IStagedImageRoot stagedImageRoot, CreatedImage created, CancellationToken cancellationToken)
    {
        var job = document.Job;
        void Log(string line) => logs.Append(job.Id, line);
        var imageRoot = stagedImageRoot.HostView;
        var imageDirectory = Path.Combine(imageRoot, "image");
        if (Directory.Exists(imageDirectory))
        {
            // As the reference: configuration under /image is for root only.
            File.SetUnixFileMode(imageDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        await stagedImageRoot.PackAsync(workspace.ResultSquashfs, SquashfsOptions.For(options.Compressor), Log, cancellationToken);

        var source = await ReadSourceManifestAsync(document, cancellationToken);
        var imageId = await images.RegisterAsync(job.ImageRootArchiveName, job.Arch, cancellationToken);
        created.ImageId = imageId;
        // Written down at once: should the server die before the image is linked, recovery finds it by the job.
        if (await store.UpdateAsync<JobDocument>(JobService.Collection, job.Id, current => current with { PendingImageId = imageId }, cancellationToken) is null)
        {
            throw new JobDeletedException();
        }
        var metadata = new Dictionary<string, string>
        {
            ["x-shasta-ims-image-name"] = job.ImageRootArchiveName,
            ["x-shasta-ims-image-id"] = imageId,
            ["x-shasta-ims-job-id"] = job.Id,
        };
        var entries = new List<ManifestArtifact>
        {
            await AdoptResultAsync(workspace.ResultSquashfs, $"{imageId}/rootfs", metadata, created, cancellationToken),
        };
        foreach (var (fileName, key, type) in new[]
        {
            (job.KernelFileName, "kernel", ArtifactTypes.Kernel),
            (job.InitrdFileName, "initrd", ArtifactTypes.Initrd),
            (job.KernelParametersFileName, "boot_parameters", ArtifactTypes.BootParameters),
        })
        {
            // Resolved as the jail sees the image: a link never leads out of the image root.
            var inImage = ImageRootPath.Resolve(imageRoot, "boot/" + fileName, out var missing);
            if (inImage is not null && await ImageRootPath.IsRegularFileAsync(runner, inImage, cancellationToken))
            {
                entries.Add(await UploadFileAsync(inImage, $"{imageId}/{key}", type, metadata, created, cancellationToken));
                Log($"{key}: /boot/{fileName} from the image root.");
                continue;
            }
            if (inImage is not null)
            {
                missing = $"/boot/{fileName} is not a regular file in the image root";
            }
            // The reference fails here; carrying the source image's file over keeps the image bootable.
            var carried = source?.Artifacts.FirstOrDefault(artifact => artifact.Type == type);
            if (carried is not null && ArtifactPath.TryParse(carried.Link.Path, out var sourceBucket, out var sourceKey)
                && await artifacts.OpenReadAsync(sourceBucket, sourceKey, cancellationToken: cancellationToken) is { } content)
            {
                await using (content)
                {
                    entries.Add(await UploadStreamAsync(content.Stream, $"{imageId}/{key}", type, metadata, created, cancellationToken));
                }
                Log($"{key}: {missing}, so the source image's {carried.Link.Path} was carried over.");
            }
            else if (type != ArtifactTypes.BootParameters)
            {
                Log($"{key}: {missing} and the source image has no {key}; the new image has none.");
            }
        }

        var manifest = ImageManifest.Create(entries, DateTimeOffset.UtcNow);
        using (var manifestContent = new MemoryStream(manifest.ToUtf8Bytes()))
        {
            var key = $"{imageId}/manifest.json";
            created.Keys.Add(key);
            var stored = await artifacts.PutAsync(BootImagesBucket, key, manifestContent, metadata, "application/json", cancellationToken: cancellationToken);
            await images.LinkAsync(imageId, ArtifactLink.S3(stored.S3Path, stored.ETag), cancellationToken);
        }
        Log($"Registered image {imageId} with {entries.Count} artifacts.");
    }

    private Task<ImageManifest?> ReadSourceManifestAsync(JobDocument document, CancellationToken cancellationToken)
        => new ManifestReader(artifacts).TryReadAsync(ArtifactLink.S3(document.SourceManifestPath), cancellationToken);

    /// <summary>The packed root moves into the repository rather than being copied: it is the biggest file of the job.</summary>
    private async Task<ManifestArtifact> AdoptResultAsync(string path, string key, Dictionary<string, string> metadata, CreatedImage created, CancellationToken cancellationToken)
    {
        created.Keys.Add(key);
        var stored = await artifacts.AdoptFileAsync(BootImagesBucket, key, path, metadata, cancellationToken);
        return new ManifestArtifact(ArtifactLink.S3(stored.S3Path, stored.ETag), stored.Md5 ?? "", ArtifactTypes.RootFileSystem);
    }

    private async Task<ManifestArtifact> UploadFileAsync(string path, string key, string type, Dictionary<string, string> metadata, CreatedImage created, CancellationToken cancellationToken)
    {
        await using var content = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await UploadStreamAsync(content, key, type, metadata, created, cancellationToken);
    }

    private async Task<ManifestArtifact> UploadStreamAsync(Stream content, string key, string type, Dictionary<string, string> metadata, CreatedImage created, CancellationToken cancellationToken)
    {
        created.Keys.Add(key);
        var stored = await artifacts.PutAsync(BootImagesBucket, key, content, metadata, cancellationToken: cancellationToken);
        return new ManifestArtifact(ArtifactLink.S3(stored.S3Path, stored.ETag), stored.Md5 ?? "", type);
    }

    /// <summary>
    /// For a job a crash interrupted while packaging: the image it registered, if it was linked (it
    /// is complete: the job only missed saying so), or null after removing the image record and the
    /// objects under its id when it was not.
    /// </summary>
    public async Task<string?> SettleInterruptedResultAsync(JobDocument document, Action<string> log, CancellationToken cancellationToken)
    {
        if (document.PendingImageId is not { } imageId)
        {
            return null;
        }
        var linked = await images.IsLinkedAsync(imageId, cancellationToken);
        if (linked is null)
        {
            return null;
        }
        if (linked == true)
        {
            log($"Image {imageId} was registered and linked before the stop: it is complete and is this job's result.");
            return imageId;
        }
        var created = new CreatedImage { ImageId = imageId };
        await foreach (var stored in artifacts.ListObjectsAsync(BootImagesBucket, imageId + "/", cancellationToken))
        {
            created.Keys.Add(stored.Key);
        }
        await RemoveCreatedImageAsync(created, log);
        return null;
    }

    /// <summary>Removes a result that did not finish: its objects and its image record, so nothing half-registered remains.</summary>
    private async Task RemoveCreatedImageAsync(CreatedImage created, Action<string> log)
    {
        foreach (var key in created.Keys)
        {
            await artifacts.DeleteAsync(BootImagesBucket, key, CancellationToken.None);
        }
        if (created.ImageId is not null)
        {
            await images.RemoveAsync(created.ImageId, CancellationToken.None);
            log($"Removed the unfinished image {created.ImageId}.");
        }
    }

    private async Task PhaseAsync(string jobId, string phase, Func<Task> work)
    {
        logs.Append(jobId, $"Phase {phase} started.");
        var stopwatch = Stopwatch.StartNew();
        await work();
        logs.Append(jobId, $"Phase {phase} finished in {Seconds(stopwatch.Elapsed)}.");
        JobMetrics.PhaseDuration.Record(stopwatch.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("phase", phase));
    }

    private Task SetStatusAsync(string jobId, string status, CancellationToken cancellationToken)
        => UpdateAsync(jobId, job => job with { Status = status }, cancellationToken);

    private async Task UpdateAsync(string jobId, Func<Job, Job> change, CancellationToken cancellationToken)
    {
        var updated = await store.UpdateAsync<JobDocument>(JobService.Collection, jobId,
            document => document with { Job = change(document.Job) }, cancellationToken);
        if (updated is null)
        {
            throw new JobDeletedException();
        }
    }

    private async Task TryMarkErrorAsync(string jobId, string reason)
    {
        logs.Append(jobId, "Status error: " + reason);
        await FlushLogAsync();
        await store.UpdateAsync<JobDocument>(JobService.Collection, jobId,
            document => document with { Job = document.Job with { Status = JobStatuses.Error } }, CancellationToken.None);
    }

    /// <summary>
    /// Every line reaches the shared store before the status turns final: a reader on another server
    /// stops once it sees the final status, and must have read the whole log by then.
    /// </summary>
    private async Task FlushLogAsync()
    {
        try
        {
            await logs.FlushAsync(CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The store is unreachable: the periodic flush writes the lines when it is back.
        }
    }

    private static string Seconds(TimeSpan elapsed) => elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    private sealed class CreatedImage
    {
        public string? ImageId { get; set; }

        public List<string> Keys { get; } = [];
    }
}

/// <summary>A job that cannot go on for a reason the user can act on; its message goes to the job log.</summary>
public sealed class JobFailedException(string message) : Exception(message);

/// <summary>The job's record disappeared: someone deleted it while it ran.</summary>
public sealed class JobDeletedException() : Exception("The job was deleted.");
