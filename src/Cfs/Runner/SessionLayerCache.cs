using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Artifacts;
using Cray.Cfs.LayerCache;
using Cray.Cfs.Model;
using Cray.Platform.Logs;
using Cray.Processes;

namespace Cray.Cfs.Runner;

/// <summary>
/// One image's layers in an image session: the cache key of each layer (null from the first layer
/// that may not be cached on), the cached layers the session asks IMS to restore, and how many
/// the job restored.
/// </summary>
public sealed class ImageLayerPlan(string imageId, string? sourceRootfsMd5, IReadOnlyList<string?> keys, IReadOnlyList<LayerCacheEntry> restore)
{
    private readonly List<string?> keys = [.. keys];

    public string ImageId { get; } = imageId;

    public string? SourceRootfsMd5 { get; } = sourceRootfsMd5;

    public IReadOnlyList<string?> Keys => keys;

    public IReadOnlyList<LayerCacheEntry> Restore { get; } = restore;

    /// <summary>Layers the job restored (at most <see cref="Restore"/>'s count): those run for this image no more.</summary>
    public int Restored { get; set; }

    /// <summary>Where each layer the job was asked to store goes, by the job's layer index.</summary>
    public Dictionary<int, (int Position, string Key, string Path)> Storing { get; } = [];

    /// <summary>The object a layer's result is in: restored from it, or being stored to it; null when neither.</summary>
    public string? PathOf(int position)
        => position < Restored ? Restore[position].Path : Storing.Values.Where(target => target.Position == position).Select(target => target.Path).FirstOrDefault();

    /// <summary>From this layer on nothing is cached (its job cannot seal layers).</summary>
    public void StopCaching(int fromPosition)
    {
        for (var position = fromPosition; position < keys.Count; position++)
        {
            keys[position] = null;
        }
    }
}

/// <summary>
/// An image session's use of the layer cache (<see cref="LayerCacheService"/>): which layers each
/// image can start from, which layers to seal and store as they finish, and, once the jobs have
/// ended, the cache entries for what they stored, within the cache's size limit.
/// </summary>
public sealed class SessionLayerCache(LayerCacheService cache, IArtifactStore artifacts, ImsClient ims, IProcessRunner runner, TimeProvider clock)
{
    /// <summary>The most layers an IMS job stacks (IMS refuses a seal beyond them): later layers are not cached.</summary>
    public const int MostCachedLayers = 32;

    private static (DateTime Modified, string Version)? ansibleVersion;

    /// <summary>Whether the layer_cache option lets sessions use the cache at all.</summary>
    public static bool Enabled(JsonObject settings) => settings["layer_cache"]?.GetValue<bool>() ?? true;

    /// <summary>Keys and what to restore, per image. A session with --no-cache restores nothing, and its layers are stored all the same.</summary>
    public async Task<Dictionary<string, ImageLayerPlan>> PlanAsync(SessionRecord session, JsonObject settings, IReadOnlyDictionary<string, JsonObject> images,
        IReadOnlyList<(LayerCheckout Layer, ConfigurationLayer? Configured)> layers, string ansibleConfigText, string? additionalInventoryCommit, Action<string> log,
        CancellationToken cancellationToken)
    {
        var plans = new Dictionary<string, ImageLayerPlan>(StringComparer.OrdinalIgnoreCase);
        var enabled = Enabled(settings);
        var reuse = enabled && session.LayerCache != false;
        if (!enabled)
        {
            log("The layer cache is off (the layer_cache option): every layer runs, and none is stored.");
        }
        else if (!reuse)
        {
            log("This session reuses nothing from the layer cache (--no-cache); the layers it runs are stored.");
        }
        var version = enabled ? await AnsibleVersionAsync(cancellationToken) : "";
        var requireDkms = layers.Any(layer => layer.Configured?.RequiresDkms == true);
        foreach (var (imageId, image) in images)
        {
            var rootfsMd5 = enabled ? await RootfsMd5Async(image, cancellationToken) : null;
            if (enabled && rootfsMd5 is null)
            {
                log($"Image {imageId}: its rootfs checksum cannot be read from its manifest, so its layers are neither reused nor stored.");
            }
            var keys = new List<string?>();
            if (rootfsMd5 is not null)
            {
                var facts = new LayerRunFacts(imageId, rootfsMd5, MembershipOf(session.Target, imageId), session.Ansible.Limit, session.Ansible.Passthrough, ansibleConfigText,
                    additionalInventoryCommit, version, requireDkms);
                string? previous = null;
                foreach (var (layer, configured) in layers)
                {
                    // A layer that opts out ends the chain: what comes after it ran on a result nobody can reproduce.
                    if ((keys.Count > 0 && previous is null) || configured is null || !configured.Cacheable || keys.Count >= MostCachedLayers)
                    {
                        previous = null;
                        keys.Add(null);
                        continue;
                    }
                    previous = LayerKeys.Key(previous, facts, UrlCredentials.Redact(layer.CloneUrl), layer.Commit, layer.Playbook);
                    keys.Add(previous);
                }
            }
            else
            {
                keys.AddRange(layers.Select(_ => (string?)null));
            }
            var restore = reuse ? await cache.LongestPrefixAsync(keys, cancellationToken) : [];
            plans[imageId] = new ImageLayerPlan(imageId, rootfsMd5, keys, restore);
            if (restore.Count > 0)
            {
                log($"Image {imageId}: layers {string.Join(", ", layers.Take(restore.Count).Select(layer => $"{layer.Layer.Index} ({layer.Layer.Name})"))} are in the layer cache "
                    + $"(keys {string.Join(", ", restore.Select(entry => LayerKeys.Short(entry.Key)))}); the job starts from them.");
            }
        }
        return plans;
    }

    /// <summary>After staging: how many layers each job restored; the entries it used are marked used.</summary>
    public async Task NoteRestoredAsync(IReadOnlyDictionary<string, ImageLayerPlan> plans, IReadOnlyList<ImageHost> images, Action<string> log, CancellationToken cancellationToken)
    {
        foreach (var image in images)
        {
            var plan = plans[image.ImageId];
            plan.Restored = Math.Min(image.RestoredLayers, plan.Restore.Count);
            if (plan.Restored < plan.Restore.Count)
            {
                log($"Image {image.ImageId}: IMS job {image.JobId} restored {plan.Restored} of {plan.Restore.Count} cached layer(s) (see cray ims jobs logs {image.JobId}); "
                    + "the others run again.");
            }
            await cache.TouchAsync(plan.Restore.Take(plan.Restored).Select(entry => entry.Key), cancellationToken);
        }
    }

    /// <summary>
    /// After the session (whatever its end): an entry for each layer a job reports stored, on top of
    /// the very objects it ran on, then the cache trimmed to the layer_cache_size_limit_mib option
    /// (least recently used first). A job that did not end is read as it is now.
    /// </summary>
    public async Task RecordAsync(SessionRecord session, JsonObject settings, IReadOnlyDictionary<string, ImageLayerPlan> plans, IReadOnlyList<ImageHost> images,
        IReadOnlyList<LayerCheckout> layers, Action<string> log, CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var image in images)
        {
            if (!plans.TryGetValue(image.ImageId, out var plan) || plan.Storing.Count == 0)
            {
                continue;
            }
            var job = image.FinalJob ?? await ims.GetJobAsync(image.JobId, cancellationToken);
            foreach (var stored in job?["layers"] as JsonArray ?? [])
            {
                var index = stored?["index"]?.GetValue<int>() ?? 0;
                if (!plan.Storing.TryGetValue(index, out var target) || stored!["path"]?.GetValue<string>() != target.Path)
                {
                    continue;
                }
                var layer = layers[target.Position];
                if (stored["status"]?.GetValue<string>() != "stored" || stored["md5"]?.GetValue<string>() is not { Length: > 0 } md5)
                {
                    log($"Layer {layer.Index} ({layer.Name}) of image {image.ImageId} was not stored in the layer cache: "
                        + $"{stored["message"]?.GetValue<string>() ?? stored["status"]?.GetValue<string>()}.");
                    continue;
                }
                // The layer below must be in the cache as the object this one ran on, or this one is never reused.
                var previousPath = target.Position == 0 ? null : plan.PathOf(target.Position - 1);
                if (target.Position > 0 && previousPath is null)
                {
                    continue;
                }
                var now = clock.GetUtcNow();
                await cache.AddAsync(new LayerCacheEntry(target.Key, target.Position == 0 ? null : plan.Keys[target.Position - 1], previousPath, target.Path, md5,
                    stored["size"]?.GetValue<long>() ?? 0,
                    new CachedLayerOrigin(target.Position, layer.Name, UrlCredentials.Redact(layer.CloneUrl), layer.Commit, layer.Playbook),
                    image.ImageId, plan.SourceRootfsMd5!, session.Name, now, now, 0), cancellationToken);
                added++;
            }
        }
        if (added == 0)
        {
            return;
        }
        var limit = Options.OptionsService.LayerCacheSizeLimitBytes(settings);
        var pruning = await cache.PruneAsync(all: false, unusedFor: null, limit, LayerCacheService.OrphanGrace(settings), cancellationToken);
        log($"Layer cache: {added} layer(s) added; {(pruning.Deleted.Count == 0 ? "nothing evicted" : $"{pruning.Deleted.Count} least recently used evicted ({pruning.FreedBytes} bytes)")}, "
            + $"{pruning.RemainingBytes} of {limit} bytes in use.");
    }

    /// <summary>
    /// The image's groups with all their members: they decide which plays run on it, and a play may
    /// read the other hosts of its groups (groups['Compute'] in a template, run_once).
    /// </summary>
    public static List<string> MembershipOf(SessionTarget target, string imageId)
        => (target.Groups ?? []).Where(group => group.Members.Contains(imageId, StringComparer.OrdinalIgnoreCase))
            .Select(group => $"{group.Name}={string.Join(',', group.Members.Select(member => member.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal))}")
            .Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>The groups of the session's target that name the image (they decide which plays run on it).</summary>
    public static List<string> GroupsOf(SessionTarget target, string imageId)
        => (target.Groups ?? []).Where(group => group.Members.Contains(imageId, StringComparer.OrdinalIgnoreCase)).Select(group => group.Name).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>The rootfs md5 the image's manifest records, or null when it cannot be read.</summary>
    public async Task<string?> RootfsMd5Async(JsonObject image, CancellationToken cancellationToken)
    {
        if (image["link"]?["path"]?.GetValue<string>() is not { } manifestPath || !ArtifactPath.TryParse(manifestPath, out var bucket, out var key))
        {
            return null;
        }
        try
        {
            await using var content = await artifacts.OpenReadAsync(bucket, key, cancellationToken: cancellationToken);
            if (content is null)
            {
                return null;
            }
            var manifest = await JsonNode.ParseAsync(content.Stream, cancellationToken: cancellationToken);
            return (manifest?["artifacts"] as JsonArray ?? [])
                .Where(artifact => artifact?["type"]?.GetValue<string>().StartsWith("application/vnd.cray.image.rootfs", StringComparison.Ordinal) == true)
                .Select(artifact => artifact!["md5"]?.GetValue<string>())
                .FirstOrDefault(md5 => !string.IsNullOrEmpty(md5))?.ToLowerInvariant();
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or ArtifactException or IOException)
        {
            return null;
        }
    }

    /// <summary>ansible-playbook's version line: layers made by another Ansible are not reused.</summary>
    public async Task<string> AnsibleVersionAsync(CancellationToken cancellationToken)
    {
        // Asked again when the program changed (an upgrade while the server runs), else remembered.
        var program = ProgramSearch.Find("ansible-playbook");
        var modified = program is null ? DateTime.MinValue : File.GetLastWriteTimeUtc(program);
        if (ansibleVersion is not { } known || known.Modified != modified)
        {
            var result = await runner.RunCheckedAsync(new ProcessRequest("ansible-playbook", ["--version"]) { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
            known = (modified, result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "unknown");
            ansibleVersion = known;
        }
        return known.Version;
    }
}
