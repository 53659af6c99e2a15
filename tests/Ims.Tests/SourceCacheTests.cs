using System.Security.Cryptography;
using System.Text;
using Cray.Artifacts;
using Cray.Ims.Jobs;
using Cray.Ims.Worker;

namespace Cray.Ims.Tests;

/// <summary>The worker's cache of verified sources, with a store that keeps no local files (as a remote S3 would).</summary>
public sealed class SourceCacheTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("source-cache-").FullName;
    private readonly RemoteLikeStore store;
    private readonly List<string> log = [];

    public SourceCacheTests()
    {
        store = new RemoteLikeStore(new FileSystemArtifactStore(Path.Combine(directory, "artifacts")));
        store.CreateBucketAsync("boot-images").GetAwaiter().GetResult();
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private SourceCache Cache(long bytes) => new(store, new ImsWorkerOptions
    {
        JobsDirectory = Path.Combine(directory, "jobs"),
        LogsDirectory = Path.Combine(directory, "logs"),
        SourceCacheDirectory = Path.Combine(directory, "cache"),
        SourceCacheBytes = bytes,
    });

    private async Task<(string Path, string Md5)> StoreAsync(string key, string content)
    {
        var stored = await store.PutAsync("boot-images", key, new MemoryStream(Encoding.UTF8.GetBytes(content)));
        return (stored.S3Path, stored.Md5!);
    }

    private string[] CachedFiles() => Directory.GetFiles(Path.Combine(directory, "cache")).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public async Task ASourceIsFetchedOnceAndSharedAfterwards()
    {
        var cache = Cache(1 << 20);
        var (path, md5) = await StoreAsync("a/rootfs", "root file system a");
        using (var first = await cache.AcquireAsync(path, md5, log.Add, CancellationToken.None))
        using (var second = await cache.AcquireAsync(path, md5, log.Add, CancellationToken.None))
        {
            Assert.Equal(first.Path, second.Path);
            Assert.Equal("root file system a", await File.ReadAllTextAsync(first.Path));
        }
        Assert.Equal(1, store.Reads);
        Assert.Contains(log, line => line.Contains("was fetched into the worker's cache, its md5 checked", StringComparison.Ordinal));
        Assert.Equal([md5 + ".squashfs"], CachedFiles());
    }

    [Fact]
    public async Task AChecksumThatDoesNotMatchTheImageIsRefusedAndNothingIsCached()
    {
        var cache = Cache(1 << 20);
        var (path, _) = await StoreAsync("b/rootfs", "root file system b");
        var wrong = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes("something else")));
        var failure = await Assert.ThrowsAsync<JobFailedException>(() => cache.AcquireAsync(path, wrong, log.Add, CancellationToken.None));
        Assert.Contains("not the", failure.Message);
        Assert.False(Directory.Exists(Path.Combine(directory, "cache")) && CachedFiles().Length > 0);
    }

    [Fact]
    public async Task TheLeastRecentlyUsedSourceGoesFirstButNeverOneInUse()
    {
        var cache = Cache(40);
        var (pathA, md5A) = await StoreAsync("a/rootfs", "twenty bytes of a...");
        var (pathB, md5B) = await StoreAsync("b/rootfs", "twenty bytes of b...");
        var (pathC, md5C) = await StoreAsync("c/rootfs", "twenty bytes of c...");
        using var inUse = await cache.AcquireAsync(pathA, md5A, log.Add, CancellationToken.None);
        (await cache.AcquireAsync(pathB, md5B, log.Add, CancellationToken.None)).Dispose();
        // Over the bound: b is the least recently used that no job uses; a is in use and stays.
        (await cache.AcquireAsync(pathC, md5C, log.Add, CancellationToken.None)).Dispose();
        Assert.Equal(new[] { md5A + ".squashfs", md5C + ".squashfs" }.Order().ToArray(), CachedFiles());
    }
}
