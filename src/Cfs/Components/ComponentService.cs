using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Platform.Storage;

namespace Cray.Cfs.Components;

/// <summary>Filters of a component list or bulk patch.</summary>
public sealed record ComponentFilter(IReadOnlySet<string>? Ids, IReadOnlySet<string>? Statuses, bool? Enabled, string? ConfigName, IReadOnlyDictionary<string, string>? Tags)
{
    public bool IsEmpty => Ids is null && Statuses is null && Enabled is null && ConfigName is null && Tags is null;
}

/// <summary>
/// Components: the nodes CFS keeps configured. Stored in the v3 shape; <c>configuration_status</c>
/// is derived on read from the desired configuration and the recorded state, as cfs.md §2.4 says.
/// </summary>
public sealed class ComponentService(IRecordStore store, OptionsService options, TimeProvider clock)
{
    public const string Unconfigured = "unconfigured";
    public const string Failed = "failed";
    public const string Pending = "pending";
    public const string Configured = "configured";
    public static readonly string[] StatusOrder = [Unconfigured, Failed, Pending, Configured];
    public static readonly string[] LayerStatuses = ["applied", "failed", "skipped", "incomplete"];

    public async Task<JsonObject> GetAsync(string id, CancellationToken cancellationToken)
        => await store.GetAsync<JsonObject>(CfsCollections.Components, id, cancellationToken)
            ?? throw CfsProblems.NotFound("Component not found", $"Component {id} could not be found");

    public IAsyncEnumerable<JsonObject> ScanAsync(string? afterId, CancellationToken cancellationToken)
        => store.ScanByIdAsync<JsonObject>(CfsCollections.Components, afterId, cancellationToken);

    /// <summary>Creates or replaces components; the stored forms are returned.</summary>
    public async Task<List<JsonObject>> PutAsync(IReadOnlyList<JsonObject> components, CancellationToken cancellationToken)
    {
        var stored = components.Select(component => Apply(new JsonObject { ["id"] = component["id"]!.GetValue<string>() }, component, replace: true)).ToList();
        await store.WriteAsync(stored.Select(component => RecordWrite.Upsert(CfsCollections.Components, Id(component), component)).ToList(), cancellationToken);
        return stored;
    }

    /// <summary>Applies a patch to one existing component.</summary>
    public async Task<JsonObject> PatchAsync(string id, JsonObject patch, CancellationToken cancellationToken)
        => await store.UpdateAsync<JsonObject>(CfsCollections.Components, id, current => Apply(current, patch, replace: false), cancellationToken)
            ?? throw CfsProblems.NotFound("Component not found", $"Component {id} could not be found");

    /// <summary>Applies a patch computed from the component as stored, in one transaction (an error_count increment cannot be lost).</summary>
    public async Task<JsonObject> PatchAsync(string id, Func<JsonObject, JsonObject> patchFor, CancellationToken cancellationToken)
        => await store.UpdateAsync<JsonObject>(CfsCollections.Components, id, current => Apply(current, patchFor(current), replace: false), cancellationToken)
            ?? throw CfsProblems.NotFound("Component not found", $"Component {id} could not be found");

    /// <summary>Patches several components; every id must exist, or nothing is changed.</summary>
    public async Task<List<JsonObject>> PatchManyAsync(IReadOnlyList<(string Id, JsonObject Patch)> patches, CancellationToken cancellationToken)
    {
        var results = new List<JsonObject>();
        var writes = new List<RecordWrite>();
        foreach (var (id, patch) in patches)
        {
            var updated = Apply(await GetAsync(id, cancellationToken), patch, replace: false);
            results.Add(updated);
            writes.Add(RecordWrite.Upsert(CfsCollections.Components, id, updated));
        }
        await store.WriteAsync(writes, cancellationToken);
        return results;
    }

    public async Task<List<string>> MatchingIdsAsync(ComponentFilter filter, CancellationToken cancellationToken)
    {
        var context = await ContextAsync(cancellationToken);
        var ids = new List<string>();
        await foreach (var component in ScanAsync(null, cancellationToken))
        {
            if (Matches(component, filter, context))
            {
                ids.Add(Id(component));
            }
        }
        return ids;
    }

    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        await GetAsync(id, cancellationToken);
        await store.WriteAsync(RecordWrite.Delete(CfsCollections.Components, id), cancellationToken);
    }

    /// <summary>What status derivation needs, read once per request.</summary>
    public sealed record StatusContext(IReadOnlyDictionary<string, ConfigurationRecord> Configurations, IReadOnlyDictionary<string, string> SourceUrls, int DefaultRetryPolicy, string DefaultPlaybook)
    {
        public ConfigurationRecord? Configuration(string name) => Configurations.GetValueOrDefault(name);
    }

    public async Task<StatusContext> ContextAsync(CancellationToken cancellationToken)
    {
        var settings = await options.GetAsync(cancellationToken);
        var all = await store.ListAsync<ConfigurationRecord>(CfsCollections.Configurations, cancellationToken);
        var sources = await store.ListAsync<SourceRecord>(CfsCollections.Sources, cancellationToken);
        return new StatusContext(all.ToDictionary(configuration => configuration.Name),
            sources.ToDictionary(source => source.Name, source => source.CloneUrl),
            settings["default_batcher_retry_policy"]?.GetValue<int>() ?? 3, OptionsService.Text(settings, "default_playbook"));
    }

    public static bool Matches(JsonObject component, ComponentFilter filter, StatusContext context)
    {
        if (filter.Ids is not null && !filter.Ids.Contains(Id(component)))
        {
            return false;
        }
        if (filter.Enabled is not null && (component["enabled"]?.GetValue<bool>() ?? true) != filter.Enabled)
        {
            return false;
        }
        if (filter.ConfigName is not null && (component["desired_config"]?.GetValue<string>() ?? "") != filter.ConfigName)
        {
            return false;
        }
        if (filter.Tags is not null)
        {
            var tags = component["tags"] as JsonObject ?? [];
            if (!filter.Tags.All(tag => tags[tag.Key]?.GetValue<string>() == tag.Value))
            {
                return false;
            }
        }
        return filter.Statuses is null || filter.Statuses.Contains(Derive(component, context).Status);
    }

    /// <summary>
    /// The configuration status and, per desired layer, its status. Layers named by source count by
    /// the source's clone URL (the reference only reads clone_url, so such layers never match).
    /// </summary>
    public static (string Status, JsonArray DesiredState) Derive(JsonObject component, StatusContext context)
    {
        var state = (component["state"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var desiredName = component["desired_config"]?.GetValue<string>() ?? "";
        var configuration = desiredName.Length == 0 ? null : context.Configuration(desiredName);
        var desiredState = new JsonArray();
        if (configuration is null)
        {
            return (state.Count > 0 ? Configured : Unconfigured, desiredState);
        }
        var errorCount = component["error_count"]?.GetValue<int>() ?? 0;
        var retryPolicy = component["retry_policy"]?.GetValue<int>() ?? context.DefaultRetryPolicy;
        var retriesUsed = retryPolicy != -1 && errorCount >= retryPolicy;
        var statuses = new List<string>();
        foreach (var layer in configuration.Layers)
        {
            var cloneUrl = layer.CloneUrl ?? (layer.Source is { } source ? context.SourceUrls.GetValueOrDefault(source) : null);
            var playbook = layer.Playbook ?? context.DefaultPlaybook;
            var commit = layer.Commit;
            string status;
            JsonObject? match = null;
            if (cloneUrl is null || commit is null)
            {
                status = Unconfigured;
            }
            else
            {
                match = state.FirstOrDefault(entry => entry["clone_url"]?.GetValue<string>() == cloneUrl
                    && entry["playbook"]?.GetValue<string>() == playbook && entry["commit"]?.GetValue<string>() == commit);
                status = match?["status"]?.GetValue<string>() switch
                {
                    null => Pending,
                    "failed" => retriesUsed ? Failed : Pending,
                    "incomplete" => Pending,
                    _ => Configured,
                };
            }
            statuses.Add(status);
            var desired = new JsonObject { ["clone_url"] = cloneUrl, ["playbook"] = playbook, ["commit"] = commit, ["status"] = status };
            if (match?["session_name"] is { } session)
            {
                desired["session_name"] = session.DeepClone();
            }
            if (match?["last_updated"] is { } updated)
            {
                desired["last_updated"] = updated.DeepClone();
            }
            desiredState.Add(desired);
        }
        var overall = statuses.Count == 0 ? Configured : statuses.MinBy(status => Array.IndexOf(StatusOrder, status))!;
        if (overall == Pending && retriesUsed)
        {
            overall = Failed;
        }
        return (overall, desiredState);
    }

    /// <summary>
    /// Applies a write. <c>state_append</c> replaces the layer with the same clone URL and playbook,
    /// then appends; error_count resets to 0 when desired_config or state:[] is written without one;
    /// tags with empty values are dropped.
    /// </summary>
    private JsonObject Apply(JsonObject current, JsonObject change, bool replace)
    {
        var component = replace ? new JsonObject { ["id"] = Id(current) } : (JsonObject)current.DeepClone();
        foreach (var field in new[] { "desired_config", "enabled", "retry_policy", "error_count" })
        {
            if (change.ContainsKey(field))
            {
                component[field] = change[field]?.DeepClone();
            }
        }
        if (change["state"] is JsonArray state)
        {
            component["state"] = new JsonArray(state.OfType<JsonObject>().Select(NormaliseLayer).ToArray());
        }
        if (change["state_append"] is JsonObject append)
        {
            var layer = NormaliseLayer(append);
            var layers = (component["state"] as JsonArray ?? []).OfType<JsonObject>()
                .Where(existing => !(existing["clone_url"]?.GetValue<string>() == layer["clone_url"]?.GetValue<string>()
                    && existing["playbook"]?.GetValue<string>() == layer["playbook"]?.GetValue<string>()))
                .Select(existing => (JsonNode?)existing.DeepClone())
                .Append(layer)
                .ToArray();
            component["state"] = new JsonArray(layers);
        }
        if (change["tags"] is JsonObject tags)
        {
            var merged = replace ? [] : (JsonObject)(component["tags"]?.DeepClone() ?? new JsonObject());
            foreach (var (key, value) in tags)
            {
                merged[key] = value?.DeepClone();
            }
            foreach (var empty in merged.Where(pair => string.IsNullOrEmpty(pair.Value?.GetValue<string>())).Select(pair => pair.Key).ToList())
            {
                merged.Remove(empty);
            }
            component["tags"] = merged;
        }
        var resets = change.ContainsKey("desired_config") || change["state"] is JsonArray { Count: 0 };
        if (resets && !change.ContainsKey("error_count"))
        {
            component["error_count"] = 0;
        }
        component.TryAdd("desired_config", "");
        component.TryAdd("enabled", true);
        component.TryAdd("error_count", 0);
        component.TryAdd("state", new JsonArray());
        component.TryAdd("tags", new JsonObject());
        return (JsonObject)JsonShapes.SortKeys(component)!;
    }

    /// <summary>A state layer with its status: a v2-style "_failed"/"_incomplete" commit suffix becomes the status.</summary>
    private JsonObject NormaliseLayer(JsonObject layer)
    {
        var normalised = (JsonObject)layer.DeepClone();
        var commit = normalised["commit"]?.GetValue<string>() ?? "";
        foreach (var suffix in new[] { "failed", "incomplete", "skipped" })
        {
            if (commit.EndsWith("_" + suffix, StringComparison.Ordinal))
            {
                normalised["commit"] = commit[..^(suffix.Length + 1)];
                normalised["status"] = suffix;
            }
        }
        normalised.TryAdd("status", "applied");
        normalised["last_updated"] = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return normalised;
    }

    public static string Id(JsonObject component) => component["id"]!.GetValue<string>();
}
