using Cray.Artifacts;
using Cray.Ims.Jobs;

namespace Cray.Ims.Worker;

/// <summary>
/// Verified source root file systems on the worker, shared read-only by every job that stages
/// them. An object the artifact store keeps as a local file, with the checksum the image records,
/// is used where it lies (the store computed that checksum when it stored it). Any other is fetched
/// once, its md5 checked on the way, and kept under its checksum in a cache bounded by
/// <see cref="ImsWorkerOptions.SourceCacheBytes"/>: the least recently used go first, never one a
/// job is using.
/// </summary>
public sealed class SourceCache(IArtifactStore artifacts, ImsWorkerOptions options)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, Task<string>> fetches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> users = new(StringComparer.Ordinal);

    /// <summary>A verified local copy of the source; dispose it when the job no longer uses it.</summary>
    public async Task<CachedSource> AcquireAsync(string rootfsPath, string expectedMd5, Action<string> log, CancellationToken cancellationToken)
    {
        if (!ArtifactPath.TryParse(rootfsPath, out var bucket, out var key))
        {
            throw new JobFailedException($"The rootfs path {rootfsPath} is not an s3:// address.");
        }
        var stored = await artifacts.HeadAsync(bucket, key, cancellationToken) ?? throw new JobFailedException($"{rootfsPath} no longer exists in the artifact repository (deleted after the job was created?).");
        var md5 = (expectedMd5.Length > 0 ? expectedMd5 : stored.Md5)?.ToLowerInvariant()
            ?? throw new JobFailedException($"The rootfs {rootfsPath} has no recorded md5 (no md5sum metadata, uploaded in parts) and its image records none: it cannot be verified.");
        // An object uploaded in parts by another tool may carry no md5: it is checked while it is fetched.
        if (stored.Md5 is not null && !string.Equals(stored.Md5, md5, StringComparison.OrdinalIgnoreCase))
        {
            throw new JobFailedException($"The rootfs {rootfsPath} has md5 {stored.Md5}, not the {md5} its image records.");
        }
        if (artifacts.LocalPath(bucket, key) is { } local)
        {
            log($"Source {rootfsPath} (md5 {md5}) is used where the artifact repository keeps it: nothing to fetch.");
            return new CachedSource(local, () => { });
        }

        Task<string> fetch;
        string found;
        lock (gate)
        {
            users[md5] = users.GetValueOrDefault(md5) + 1;
            var cached = CachePath(md5);
            if (fetches.TryGetValue(md5, out var existing) && !existing.IsFaulted && !existing.IsCanceled && (!existing.IsCompleted || File.Exists(cached)))
            {
                fetch = existing;
                found = "is in the worker's cache, shared with the jobs that use it";
            }
            else if (File.Exists(cached))
            {
                fetch = Task.FromResult(cached);
                found = "is in the worker's cache";
            }
            else
            {
                fetch = FetchAsync(bucket, key, rootfsPath, md5, cancellationToken);
                found = "was fetched into the worker's cache, its md5 checked";
            }
            fetches[md5] = fetch;
        }
        try
        {
            var path = await fetch.WaitAsync(cancellationToken);
            // The cache's recency is the file's modification time.
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            log($"Source {rootfsPath} (md5 {md5}) {found}.");
            return new CachedSource(path, () => Release(md5));
        }
        catch
        {
            Release(md5);
            throw;
        }
    }

    private string CachePath(string md5) => Path.Combine(options.SourceCacheDirectory, md5 + ".squashfs");

    private async Task<string> FetchAsync(string bucket, string key, string rootfsPath, string md5, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.SourceCacheDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var target = CachePath(md5);
        var partial = $"{target}.{Guid.NewGuid():n}.partial";
        try
        {
            var actual = await ArtifactFiles.CopyWithChecksumAsync(artifacts, bucket, key, rootfsPath, partial, cancellationToken);
            if (!string.Equals(actual, md5, StringComparison.OrdinalIgnoreCase))
            {
                throw new JobFailedException($"The rootfs {rootfsPath} has md5 {actual}, not the {md5} its image records.");
            }
            File.Move(partial, target, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
        Evict(keep: md5);
        return target;
    }

    private void Release(string md5)
    {
        lock (gate)
        {
            if (users.TryGetValue(md5, out var count) && count > 1)
            {
                users[md5] = count - 1;
            }
            else
            {
                users.Remove(md5);
            }
        }
    }

    /// <summary>Removes the least recently used sources until the cache fits its bound; never one in use or the one just fetched.</summary>
    private void Evict(string keep)
    {
        lock (gate)
        {
            var files = new DirectoryInfo(options.SourceCacheDirectory).GetFiles("*.squashfs").OrderBy(file => file.LastWriteTimeUtc).ToList();
            var total = files.Sum(file => file.Length);
            foreach (var file in files)
            {
                if (total <= options.SourceCacheBytes)
                {
                    break;
                }
                var md5 = Path.GetFileNameWithoutExtension(file.Name);
                if (md5 == keep || users.ContainsKey(md5))
                {
                    continue;
                }
                total -= file.Length;
                file.Delete();
                fetches.Remove(md5);
            }
        }
    }
}

/// <summary>A source root file system a job uses; disposing it lets the cache evict it again.</summary>
public sealed class CachedSource(string path, Action release) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose() => release();
}
