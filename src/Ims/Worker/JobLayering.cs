using Cray.Artifacts;
using Cray.Ims.Jobs;
using Cray.Platform.Storage;

namespace Cray.Ims.Worker;

/// <summary>
/// The layers of one layered customize job: restoring the packed layers it was created with
/// (the longest prefix that fetches and checks out), noticing a request to seal the current layer,
/// and packing and storing sealed layers in the background while the next one is served. Each
/// step is written to the job's <c>layers</c>, which is how the caller learns what happened.
/// </summary>
public sealed class JobLayering(IRecordStore store, IArtifactStore artifacts, SourceCache sourceCache, string jobId, Action<string> log, TimeProvider clock)
{
    // A write by any server wakes the watch (LISTEN/NOTIFY on PostgreSQL); the reread bounds a lost notification.
    private static readonly TimeSpan RereadInterval = TimeSpan.FromSeconds(5);

    private readonly List<Task> stores = [];

    /// <summary>
    /// Fetches the packed layers the job was created with, lowest first, stopping at the first one
    /// that cannot be fetched or does not match its md5: layers above it were made on top of it.
    /// </summary>
    public async Task<List<CachedSource>> RestoreAsync(IReadOnlyList<JobLayer> requested, CancellationToken cancellationToken)
    {
        var restored = new List<CachedSource>();
        try
        {
            foreach (var layer in requested)
            {
                try
                {
                    restored.Add(await sourceCache.AcquireAsync(layer.Path!, layer.Md5!, log, cancellationToken));
                    log($"Layer {layer.Index} restored from {layer.Path}.");
                }
                catch (Exception exception) when (exception is JobFailedException or ArtifactException or IOException)
                {
                    log($"Layer {layer.Index} cannot be restored ({exception.Message}); it and the layers above it are left to the user.");
                    break;
                }
            }
            // What was not restored is not below the jail: the record lists only the stack (the log says why).
            await UpdateLayersAsync(layers => layers.Where(layer => layer.Index <= restored.Count).Select(layer => layer with { Status = JobLayerStates.Restored }).ToList(),
                cancellationToken);
            return restored;
        }
        catch
        {
            restored.ForEach(layer => layer.Dispose());
            throw;
        }
    }

    /// <summary>The layer whose sealing the API asked for, once the job's status says so.</summary>
    public async Task<JobLayer> WaitForSealRequestAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = store.NextChangeAsync(JobService.Collection);
            var document = await store.GetAsync<JobDocument>(JobService.Collection, jobId, cancellationToken) ?? throw new JobDeletedException();
            if (document.Job is { Status: JobStatuses.SealingLayer, Layers: [.., { Status: JobLayerStates.Sealing } sealing] })
            {
                return sealing;
            }
            await Task.WhenAny(changed, Task.Delay(RereadInterval, clock, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Seals the current layer (the jail must be down) and, when the request names a path, packs
    /// and stores it in the background; the next layer is served meanwhile.
    /// </summary>
    public async Task SealAsync(OverlayImageRoot overlay, JobLayer request, CancellationToken cancellationToken)
    {
        var sealedLayer = await overlay.SealLayerAsync(log, cancellationToken);
        var status = request.Path is null ? JobLayerStates.Sealed : JobLayerStates.Storing;
        await UpdateLayerAsync(request.Index, layer => layer with { Status = status }, cancellationToken);
        if (request.Path is not null)
        {
            stores.Add(StoreAsync(overlay, sealedLayer, request, cancellationToken));
        }
    }

    /// <summary>Waits for every layer being stored; never throws: a failed store is in the job's record, not an error of the job.</summary>
    public Task WhenStoredAsync() => Task.WhenAll(stores);

    private async Task StoreAsync(OverlayImageRoot overlay, StackedLayer layer, JobLayer request, CancellationToken cancellationToken)
    {
        // Off the caller's path: the next layer is served while this one is packed.
        await Task.Yield();
        string? packed = null;
        try
        {
            packed = await overlay.PackLayerAsync(layer, log, cancellationToken);
            var size = new FileInfo(packed).Length;
            if (!ArtifactPath.TryParse(request.Path!, out var bucket, out var key))
            {
                throw new JobFailedException($"{request.Path} is not an s3:// address.");
            }
            var stored = await artifacts.AdoptFileAsync(bucket, key, packed, new Dictionary<string, string> { ["x-shasta-ims-job-id"] = jobId }, cancellationToken);
            await UpdateLayerAsync(request.Index, current => current with { Status = JobLayerStates.Stored, Md5 = stored.Md5, Size = size }, cancellationToken);
            log($"Layer {layer.Index} stored at {request.Path} ({size} bytes, md5 {stored.Md5}).");
        }
        catch (Exception exception) when (exception is JobDeletedException || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The job was stopped or deleted: the object, if any, is an orphan the cache's prune removes.
        }
        catch (Exception exception)
        {
            log($"Layer {layer.Index} could not be stored at {request.Path}: {exception.Message}");
            try
            {
                await UpdateLayerAsync(request.Index, current => current with { Status = JobLayerStates.StoreFailed, Message = exception.Message }, CancellationToken.None);
            }
            catch (Exception recording)
            {
                // The job is gone or the store unreachable: the layer stays "storing", which no session records.
                log($"Layer {layer.Index}'s failure could not be recorded: {recording.Message}");
            }
        }
        finally
        {
            if (packed is not null)
            {
                File.Delete(packed);
            }
        }
    }

    private Task UpdateLayerAsync(int index, Func<JobLayer, JobLayer> change, CancellationToken cancellationToken)
        => UpdateLayersAsync(layers => layers.Select(layer => layer.Index == index ? change(layer) : layer).ToList(), cancellationToken);

    private async Task UpdateLayersAsync(Func<IReadOnlyList<JobLayer>, List<JobLayer>> change, CancellationToken cancellationToken)
    {
        var updated = await store.UpdateAsync<JobDocument>(JobService.Collection, jobId,
            document => document with { Job = document.Job with { Layers = change(document.Job.Layers ?? []) } }, cancellationToken);
        if (updated is null)
        {
            throw new JobDeletedException();
        }
    }
}
