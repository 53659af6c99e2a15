using System.Text;
using Cray.Artifacts;
using Cray.Cfs.LayerCache;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs.Tests;

/// <summary>
/// The layer cache's index and bound: keys that change with every input that changes a layer's
/// result (and only those), least recently used entries evicted first down to the size limit
/// (objects included), and the v3 cache API's answers and refusals.
/// </summary>
public sealed class LayerCacheTests : IDisposable
{
    private readonly CfsTestServer server = new();

    public void Dispose() => server.Dispose();

    private static readonly LayerRunFacts Facts = new("a9e1d3c4-6b8f-4f0e-9d55-0d4f2a3c9b10", "0123456789abcdef0123456789abcdef", ["Compute"], "", "", "[defaults]\n",
        null, "ansible-playbook [core 2.14.3]", false);

    [Fact]
    public void AKeyChangesWithEachInputThatChangesALayersResult()
    {
        var key = LayerKeys.Key(null, Facts, "https://git/repo", "c0ffee", "site.yml");
        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Equal(key, LayerKeys.Key(null, Facts, "https://git/repo", "c0ffee", "site.yml"));
        // Group order is not an input; the groups are.
        Assert.Equal(key, LayerKeys.Key(null, Facts with { Groups = ["Compute"] }, "https://git/repo", "c0ffee", "site.yml"));
        var changed = new[]
        {
            LayerKeys.Key(new string('1', 64), Facts, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { ImageId = Guid.NewGuid().ToString() }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { SourceRootfsMd5 = new string('f', 32) }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { Groups = ["Compute", "Application"] }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { AnsibleLimit = "x3000" }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { AnsiblePassthrough = "-e a=b" }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { AnsibleConfigText = "[defaults]\nforks = 5\n" }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { AdditionalInventoryCommit = "beef" }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { AnsibleVersion = "ansible-playbook [core 2.16.0]" }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts with { RequireDkms = true }, "https://git/repo", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts, "https://git/other", "c0ffee", "site.yml"),
            LayerKeys.Key(null, Facts, "https://git/repo", "c0ffef", "site.yml"),
            LayerKeys.Key(null, Facts, "https://git/repo", "c0ffee", "other.yml"),
        };
        Assert.DoesNotContain(key, changed);
        Assert.Equal(changed.Length, changed.Distinct().Count());
    }

    private async Task<LayerCacheEntry> AddAsync(string key, long size, DateTimeOffset lastUsed, LayerCacheEntry? below = null)
    {
        var artifacts = server.Services.GetRequiredService<IArtifactStore>();
        var path = LayerCacheService.NewPath(key);
        var (bucket, objectKey) = Parse(path);
        await artifacts.CreateBucketAsync(bucket);
        using (var content = new MemoryStream(Encoding.UTF8.GetBytes("packed layer " + key)))
        {
            await artifacts.PutAsync(bucket, objectKey, content);
        }
        var entry = new LayerCacheEntry(key, below?.Key, below?.Path, path, new string('0', 32), size, new CachedLayerOrigin(0, "layer", "https://git/repo", "c0ffee", "site.yml"),
            Facts.ImageId, Facts.SourceRootfsMd5, "session", lastUsed, lastUsed, 0);
        await server.Services.GetRequiredService<LayerCacheService>().AddAsync(entry, CancellationToken.None);
        return entry;
    }

    private static (string Bucket, string Key) Parse(string path)
    {
        Assert.True(ArtifactPath.TryParse(path, out var bucket, out var key));
        return (bucket!, key!);
    }

    private async Task<bool> ObjectExistsAsync(LayerCacheEntry entry)
    {
        var (bucket, key) = Parse(entry.Path);
        return await server.Services.GetRequiredService<IArtifactStore>().HeadAsync(bucket, key) is not null;
    }

    [Fact]
    public async Task APruneEvictsTheLeastRecentlyUsedDownToTheSizeLimitWithTheirObjects()
    {
        _ = server.CreateClient();
        var now = DateTimeOffset.UtcNow;
        var oldest = await AddAsync(new string('a', 64), 600 * 1024, now.AddDays(-3));
        var middle = await AddAsync(new string('b', 64), 600 * 1024, now.AddDays(-2));
        var newest = await AddAsync(new string('c', 64), 600 * 1024, now.AddDays(-1));
        // Using the oldest makes it the most recently used: the middle one goes first now.
        await server.Services.GetRequiredService<LayerCacheService>().TouchAsync([oldest.Key], CancellationToken.None);
        Assert.Equal(200, (await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", """{"layer_cache_size_limit_mib":1}""")).Status);

        var (status, pruned) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/cache/prune", "{}");
        Assert.Equal(200, status);
        Assert.Equal([middle.Key, newest.Key], pruned!["deleted"]!.AsArray().Select(key => (string?)key));
        Assert.Equal(600 * 1024, (long)pruned["remaining_bytes"]!);
        Assert.False(await ObjectExistsAsync(middle));
        Assert.False(await ObjectExistsAsync(newest));
        Assert.True(await ObjectExistsAsync(oldest));

        var (_, list) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/cache");
        var remaining = Assert.Single(list!["entries"]!.AsArray())!;
        Assert.Equal(oldest.Key, (string?)remaining["key"]);
        Assert.Equal(1, (int)remaining["uses"]!);
        Assert.Equal(1024 * 1024, (long)list["size_limit_bytes"]!);
        Assert.True((bool)list["enabled"]!);
    }

    [Fact]
    public async Task EntriesAreDescribedDeletedAndPrunedByAgeThroughTheApi()
    {
        _ = server.CreateClient();
        var now = DateTimeOffset.UtcNow;
        var stale = await AddAsync(new string('d', 64), 10, now.AddDays(-10));
        var fresh = await AddAsync(new string('e', 64), 10, now);

        var (described, entry) = await server.SendAsync(HttpMethod.Get, $"/apis/cfs/v3/cache/{fresh.Key}");
        Assert.Equal(200, described);
        Assert.Equal("site.yml", (string?)entry!["layer"]!["playbook"]);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Get, $"/apis/cfs/v3/cache/{new string('9', 64)}")).Status);
        // Not a key: never looked up, never a path.
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/cache/..%2F..%2Fetc")).Status);
        Assert.Equal(400, (await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/cache/prune", """{"unused_for":"soon"}""")).Status);
        Assert.Equal(400, (await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/cache/prune", """{"everything":true}""")).Status);

        var (pruned, result) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/cache/prune", """{"unused_for":"7d"}""");
        Assert.Equal(200, pruned);
        Assert.Equal([stale.Key], result!["deleted"]!.AsArray().Select(key => (string?)key));

        Assert.Equal(204, (await server.SendAsync(HttpMethod.Delete, $"/apis/cfs/v3/cache/{fresh.Key}")).Status);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Delete, $"/apis/cfs/v3/cache/{fresh.Key}")).Status);
        Assert.False(await ObjectExistsAsync(fresh));
        var (_, list) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/cache");
        Assert.Empty(list!["entries"]!.AsArray());
        // The cache is ours and v3's only.
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/cache")).Status);
    }

    [Fact]
    public async Task AnObjectNoEntryNamesIsDeletedByAPruneAfterAnHoursGrace()
    {
        _ = server.CreateClient();
        var kept = await AddAsync(new string('f', 64), 10, DateTimeOffset.UtcNow);
        var artifacts = server.Services.GetRequiredService<IArtifactStore>();
        var (bucket, orphanKey) = Parse(LayerCacheService.NewPath(new string('7', 64)));
        using (var content = new MemoryStream(Encoding.UTF8.GetBytes("stored by a job whose session never added it")))
        {
            await artifacts.PutAsync(bucket, orphanKey, content);
        }
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new LayerCacheService(server.Services.GetRequiredService<Platform.Storage.IRecordStore>(), artifacts, clock);

        // Just stored: its session may still add the entry.
        await cache.PruneAsync(all: false, unusedFor: null, sizeLimitBytes: null, TimeSpan.FromHours(1), CancellationToken.None);
        Assert.NotNull(await artifacts.HeadAsync(bucket, orphanKey));

        clock.Advance(TimeSpan.FromHours(2));
        var pruned = await cache.PruneAsync(all: false, unusedFor: null, sizeLimitBytes: null, TimeSpan.FromHours(1), CancellationToken.None);
        Assert.Null(await artifacts.HeadAsync(bucket, orphanKey));
        Assert.Empty(pruned.Deleted);
        Assert.True(await ObjectExistsAsync(kept));
    }

    /// <summary>A layer is reused only on top of the very object it ran on: a lower layer stored again, deleted or evicted takes the layers above it along.</summary>
    [Fact]
    public async Task ALayerIsReusedOnlyOnTheObjectItRanOn()
    {
        _ = server.CreateClient();
        var cache = server.Services.GetRequiredService<LayerCacheService>();
        var now = DateTimeOffset.UtcNow;
        var lower = await AddAsync(new string('1', 64), 10, now);
        var upper = await AddAsync(new string('2', 64), 10, now, below: lower);
        Assert.Equal([lower.Key, upper.Key], (await cache.LongestPrefixAsync([lower.Key, upper.Key], CancellationToken.None)).Select(entry => entry.Key));
        // A null key (a layer that opted out) ends the prefix.
        Assert.Equal([lower.Key], (await cache.LongestPrefixAsync([lower.Key, null, upper.Key], CancellationToken.None)).Select(entry => entry.Key));

        // The lower layer stored again (a session that ran it alone): the upper one ran on the old object, so it goes.
        var restored = await AddAsync(lower.Key, 10, now.AddDays(-1));
        Assert.NotEqual(lower.Path, restored.Path);
        Assert.Equal([lower.Key], (await cache.LongestPrefixAsync([lower.Key, upper.Key], CancellationToken.None)).Select(entry => entry.Key));
        Assert.Null(await cache.FindAsync(upper.Key, CancellationToken.None));
        Assert.False(await ObjectExistsAsync(upper));
        Assert.False(await ObjectExistsAsync(lower));

        // An entry whose lower object does not match is not reused even when it is there.
        var stale = await AddAsync(new string('3', 64), 10, now, below: lower);
        Assert.Equal([restored.Key], (await cache.LongestPrefixAsync([restored.Key, stale.Key], CancellationToken.None)).Select(entry => entry.Key));

        // Deleting (or evicting) a layer deletes the layers above it.
        var above = await AddAsync(new string('4', 64), 10, now.AddDays(1), below: restored);
        var pruned = await cache.PruneAsync(all: false, unusedFor: TimeSpan.FromHours(1), sizeLimitBytes: null, TimeSpan.FromHours(1), CancellationToken.None);
        Assert.Contains(above.Key, pruned.Deleted);
        Assert.Contains(restored.Key, pruned.Deleted);
        Assert.False(await ObjectExistsAsync(above));
    }
}
