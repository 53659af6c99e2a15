using System.Text.RegularExpressions;
using Cray.Artifacts;
using Cray.Platform.Storage;

namespace Cray.Cfs.LayerCache;

/// <summary>
/// The layer cache's index (the store) and its objects (the artifact repository, bucket
/// <see cref="Bucket"/>): what image sessions reuse, what they add, and the bound that keeps it in
/// size, least recently used entries first. An entry's object is written by the IMS job that ran
/// the layer, at a path this class chose; the entry is added only once the job reports it stored.
/// </summary>
public sealed partial class LayerCacheService(IRecordStore store, IArtifactStore artifacts, TimeProvider clock)
{
    public const string Collection = "cfs.layer_cache";
    public const string Bucket = "cfs-layer-cache";

    /// <summary>A fresh object path for a layer under <paramref name="key"/>: two sessions storing one key never write the same object.</summary>
    public static string NewPath(string key) => $"s3://{Bucket}/{key}/{Guid.NewGuid():n}.squashfs";

    public static bool IsKey(string text) => KeyPattern().IsMatch(text);

    public async Task<IReadOnlyList<LayerCacheEntry>> ListAsync(CancellationToken cancellationToken)
        => (await store.ListAsync<LayerCacheEntry>(Collection, cancellationToken)).OrderByDescending(entry => entry.LastUsed).ThenBy(entry => entry.Key, StringComparer.Ordinal).ToList();

    public Task<LayerCacheEntry?> FindAsync(string key, CancellationToken cancellationToken)
        => IsKey(key) ? store.GetAsync<LayerCacheEntry>(Collection, key, cancellationToken) : Task.FromResult<LayerCacheEntry?>(null);

    /// <summary>
    /// The entries of the longest prefix of <paramref name="keys"/> that is cached, each on top of the
    /// very object below it (a null key ends it: that layer is not cacheable; so does a layer whose
    /// lower layer was stored again since it ran).
    /// </summary>
    public async Task<List<LayerCacheEntry>> LongestPrefixAsync(IReadOnlyList<string?> keys, CancellationToken cancellationToken)
    {
        var found = new List<LayerCacheEntry>();
        foreach (var key in keys)
        {
            if (key is null || await FindAsync(key, cancellationToken) is not { } entry || entry.PreviousPath != (found.Count == 0 ? null : found[^1].Path))
            {
                break;
            }
            found.Add(entry);
        }
        return found;
    }

    /// <summary>Marks entries as used now (what the least-recently-used bound goes by).</summary>
    public async Task TouchAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        foreach (var key in keys)
        {
            await store.UpdateAsync<LayerCacheEntry>(Collection, key, entry => entry with { LastUsed = now, Uses = entry.Uses + 1 }, cancellationToken);
        }
    }

    /// <summary>Adds (or replaces) an entry; a replaced entry's object goes, and so do the entries that ran on it.</summary>
    public async Task AddAsync(LayerCacheEntry entry, CancellationToken cancellationToken)
    {
        var replaced = await store.GetAsync<LayerCacheEntry>(Collection, entry.Key, cancellationToken);
        await store.WriteAsync(RecordWrite.Upsert(Collection, entry.Key, entry), cancellationToken);
        if (replaced is not null && replaced.Path != entry.Path)
        {
            await DeleteObjectAsync(replaced.Path, cancellationToken);
            await DeleteAboveAsync(replaced.Path, [], cancellationToken);
        }
    }

    /// <summary>Deletes an entry and its object, and the entries that ran on it; false when there was no such entry.</summary>
    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => (await DeleteWithAboveAsync(key, cancellationToken)).Count > 0;

    /// <summary>Deletes an entry, its object and every entry above it; returns what went.</summary>
    private async Task<List<LayerCacheEntry>> DeleteWithAboveAsync(string key, CancellationToken cancellationToken)
    {
        if (await FindAsync(key, cancellationToken) is not { } entry)
        {
            return [];
        }
        await store.WriteAsync(RecordWrite.Delete(Collection, key), cancellationToken);
        await DeleteObjectAsync(entry.Path, cancellationToken);
        List<LayerCacheEntry> deleted = [entry];
        await DeleteAboveAsync(entry.Path, deleted, cancellationToken);
        return deleted;
    }

    /// <summary>Entries that ran on the object at <paramref name="path"/> can never be reused: they go too.</summary>
    private async Task DeleteAboveAsync(string path, List<LayerCacheEntry> deleted, CancellationToken cancellationToken)
    {
        foreach (var above in (await store.ListAsync<LayerCacheEntry>(Collection, cancellationToken)).Where(entry => entry.PreviousPath == path))
        {
            deleted.AddRange(await DeleteWithAboveAsync(above.Key, cancellationToken));
        }
    }

    /// <summary>
    /// Deletes every entry (<paramref name="all"/>), or those unused for longer than
    /// <paramref name="unusedFor"/>, and then the least recently used until the cache holds at most
    /// <paramref name="sizeLimitBytes"/>; an entry goes with those that ran on it. Objects no entry
    /// names go once they are older than <paramref name="orphanGrace"/>.
    /// </summary>
    public async Task<LayerCachePruning> PruneAsync(bool all, TimeSpan? unusedFor, long? sizeLimitBytes, TimeSpan orphanGrace, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var entries = (await ListAsync(cancellationToken)).OrderBy(entry => entry.LastUsed).ToList();
        var remaining = entries.Sum(entry => entry.Size);
        var deleted = new List<string>();
        long freed = 0;
        foreach (var entry in entries.Where(entry => !deleted.Contains(entry.Key)))
        {
            var expired = all || (unusedFor is { } age && entry.LastUsed < now - age);
            if (!expired && (sizeLimitBytes is not { } limit || remaining <= limit))
            {
                continue;
            }
            foreach (var gone in await DeleteWithAboveAsync(entry.Key, cancellationToken))
            {
                deleted.Add(gone.Key);
                freed += gone.Size;
                remaining -= gone.Size;
            }
        }
        freed += await DeleteOrphansAsync(orphanGrace, cancellationToken);
        return new LayerCachePruning(deleted, freed, remaining);
    }

    /// <summary>
    /// How old an object no entry names must be before a prune deletes it: a session adds its
    /// entries when it ends, so an object younger than the longest a session runs (the
    /// session_timeout option) may still get one. A week when sessions have no time limit.
    /// </summary>
    public static TimeSpan OrphanGrace(System.Text.Json.Nodes.JsonObject settings)
        => (Options.OptionsService.DurationOf(settings, "session_timeout") ?? TimeSpan.FromDays(7)) + TimeSpan.FromHours(1);

    /// <summary>Objects no entry names: stored by a job whose session ended before it could add the entry (a crash, a deletion, a failure before the teardown).</summary>
    private async Task<long> DeleteOrphansAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        var before = clock.GetUtcNow() - grace;
        var old = new List<ArtifactSummary>();
        await foreach (var stored in artifacts.ListObjectsAsync(Bucket, cancellationToken: cancellationToken))
        {
            if (stored.LastModified < before)
            {
                old.Add(stored);
            }
        }
        // The index is read after the listing, so an entry added meanwhile keeps its object.
        var named = (await ListAsync(cancellationToken)).Select(entry => entry.Path).ToHashSet(StringComparer.Ordinal);
        long freed = 0;
        foreach (var stored in old.Where(stored => !named.Contains($"s3://{Bucket}/{stored.Key}")))
        {
            await artifacts.DeleteAsync(Bucket, stored.Key, cancellationToken);
            freed += stored.Size;
        }
        return freed;
    }

    private async Task DeleteObjectAsync(string path, CancellationToken cancellationToken)
    {
        // Only objects of the cache's own bucket: an entry is never a way to delete anything else.
        if (ArtifactPath.TryParse(path, out var bucket, out var key) && bucket == Bucket)
        {
            await artifacts.DeleteAsync(bucket, key, cancellationToken);
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex KeyPattern();
}
