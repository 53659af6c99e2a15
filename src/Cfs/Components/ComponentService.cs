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

    public async Task<ComponentRecord> GetAsync(string id, CancellationToken cancellationToken)
        => await store.GetAsync<ComponentRecord>(CfsCollections.Components, id, cancellationToken) ?? throw NotFound(id);

    /// <summary>
    /// Components after <paramref name="afterId"/> in id order; with a filter, the database leaves out
    /// those whose stored fields cannot match (<see cref="Matches"/> still decides, the status being derived).
    /// </summary>
    public IAsyncEnumerable<ComponentRecord> ScanAsync(string? afterId, CancellationToken cancellationToken, ComponentFilter? filter = null)
        => store.ScanByIdAsync<ComponentRecord>(CfsCollections.Components, afterId, filter is null ? null : StoredFields(filter), cancellationToken);

    private static JsonObject? StoredFields(ComponentFilter filter)
    {
        var pattern = new JsonObject();
        if (filter.Enabled is { } enabled)
        {
            pattern["enabled"] = enabled;
        }
        if (filter.ConfigName is { } configuration)
        {
            pattern["desired_config"] = configuration;
        }
        if (filter.Tags is { Count: > 0 } tags)
        {
            pattern["tags"] = new JsonObject(tags.Select(tag => KeyValuePair.Create(tag.Key, (JsonNode?)tag.Value)));
        }
        return pattern.Count == 0 ? null : pattern;
    }

    /// <summary>Creates or replaces components (each change names its id); the stored forms are returned.</summary>
    public async Task<List<ComponentRecord>> PutAsync(IReadOnlyList<ComponentChange> components, CancellationToken cancellationToken)
    {
        var stored = components.Select(component => Apply(Empty(component.Id!), component, replace: true)).ToList();
        await store.WriteAsync(stored.Select(component => RecordWrite.Upsert(CfsCollections.Components, component.Id, component)).ToList(), cancellationToken);
        return stored;
    }

    /// <summary>Applies a patch to one existing component.</summary>
    public Task<ComponentRecord> PatchAsync(string id, ComponentChange patch, CancellationToken cancellationToken)
        => PatchAsync(id, _ => patch, cancellationToken);

    /// <summary>Applies a patch computed from the component as stored, in one transaction (an error_count increment cannot be lost).</summary>
    public async Task<ComponentRecord> PatchAsync(string id, Func<ComponentRecord, ComponentChange> patchFor, CancellationToken cancellationToken)
        => await store.UpdateAsync<ComponentRecord>(CfsCollections.Components, id, current => Apply(current, patchFor(current), replace: false), cancellationToken)
            ?? throw NotFound(id);

    /// <summary>Patches several components; every id must exist, or nothing is changed.</summary>
    public async Task<List<ComponentRecord>> PatchManyAsync(IReadOnlyList<(string Id, ComponentChange Patch)> patches, CancellationToken cancellationToken)
    {
        var results = new List<ComponentRecord>();
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
        await foreach (var component in ScanAsync(null, cancellationToken, filter))
        {
            if (Matches(component, filter, context))
            {
                ids.Add(component.Id);
            }
        }
        return ids;
    }

    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        await GetAsync(id, cancellationToken);
        await store.WriteAsync(RecordWrite.Delete(CfsCollections.Components, id), cancellationToken);
    }

    private static Platform.Problems.ProblemException NotFound(string id)
        => CfsProblems.NotFound("Component not found", $"Component {id} could not be found");

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

    public static bool Matches(ComponentRecord component, ComponentFilter filter, StatusContext context)
        => (filter.Ids is null || filter.Ids.Contains(component.Id))
            && (filter.Enabled is null || component.Enabled == filter.Enabled)
            && (filter.ConfigName is null || component.DesiredConfig == filter.ConfigName)
            && (filter.Tags is null || filter.Tags.All(tag => component.Tags.GetValueOrDefault(tag.Key) == tag.Value))
            && (filter.Statuses is null || filter.Statuses.Contains(Derive(component, context).Status));

    /// <summary>
    /// The configuration status and, per desired layer, its status. Layers named by source count by
    /// the source's clone URL (the reference only reads clone_url, so such layers never match).
    /// </summary>
    public static (string Status, IReadOnlyList<DesiredStateLayer> DesiredState) Derive(ComponentRecord component, StatusContext context)
    {
        var configuration = component.DesiredConfig.Length == 0 ? null : context.Configuration(component.DesiredConfig);
        var desiredState = new List<DesiredStateLayer>();
        if (configuration is null)
        {
            return (component.State.Count > 0 ? Configured : Unconfigured, desiredState);
        }
        var retriesUsed = (component.RetryPolicy ?? context.DefaultRetryPolicy) is var retryPolicy && retryPolicy != -1 && component.ErrorCount >= retryPolicy;
        var statuses = new List<string>();
        foreach (var layer in configuration.Layers)
        {
            var cloneUrl = layer.CloneUrl ?? (layer.Source is { } source ? context.SourceUrls.GetValueOrDefault(source) : null);
            var playbook = layer.Playbook ?? context.DefaultPlaybook;
            var commit = layer.Commit;
            string status;
            ComponentStateLayer? match = null;
            if (cloneUrl is null || commit is null)
            {
                status = Unconfigured;
            }
            else
            {
                match = component.State.FirstOrDefault(entry => entry.CloneUrl == cloneUrl && entry.Playbook == playbook && entry.Commit == commit);
                status = match?.Status switch
                {
                    null => Pending,
                    "failed" => retriesUsed ? Failed : Pending,
                    "incomplete" => Pending,
                    _ => Configured,
                };
            }
            statuses.Add(status);
            desiredState.Add(new DesiredStateLayer(cloneUrl, commit, match?.LastUpdated, playbook, match?.SessionName, status));
        }
        var overall = statuses.Count == 0 ? Configured : statuses.MinBy(status => Array.IndexOf(StatusOrder, status))!;
        if (overall == Pending && retriesUsed)
        {
            overall = Failed;
        }
        return (overall, desiredState);
    }

    private static ComponentRecord Empty(string id) => new("", true, 0, id, null, [], new Dictionary<string, string>());

    /// <summary>
    /// Applies a write. <c>state_append</c> replaces the layer with the same clone URL and playbook,
    /// then appends; error_count resets to 0 when desired_config or state:[] is written without one;
    /// tags with empty values are dropped.
    /// </summary>
    private ComponentRecord Apply(ComponentRecord current, ComponentChange change, bool replace)
    {
        var component = replace ? Empty(current.Id) : current;
        component = component with
        {
            DesiredConfig = change.DesiredConfig ?? component.DesiredConfig,
            Enabled = change.Enabled ?? component.Enabled,
            RetryPolicy = change.RetryPolicy ?? component.RetryPolicy,
            ErrorCount = change.ErrorCount ?? component.ErrorCount,
        };
        if (change.State is { } state)
        {
            component = component with { State = [.. state.Select(NormaliseLayer)] };
        }
        if (change.StateAppend is { } append)
        {
            var layer = NormaliseLayer(append);
            component = component with
            {
                State = [.. component.State.Where(existing => !(existing.CloneUrl == layer.CloneUrl && existing.Playbook == layer.Playbook)), layer],
            };
        }
        if (change.Tags is { } tags)
        {
            var merged = new SortedDictionary<string, string>(replace ? new Dictionary<string, string>() : component.Tags.ToDictionary(), StringComparer.Ordinal);
            foreach (var (key, value) in tags)
            {
                merged[key] = value;
            }
            component = component with { Tags = merged.Where(pair => pair.Value.Length > 0).ToDictionary(StringComparer.Ordinal) };
        }
        var resets = change.DesiredConfig is not null || change.State is { Count: 0 };
        if (resets && change.ErrorCount is null)
        {
            component = component with { ErrorCount = 0 };
        }
        return component;
    }

    /// <summary>A state layer with its status: a v2-style "_failed"/"_incomplete" commit suffix becomes the status.</summary>
    private ComponentStateLayer NormaliseLayer(ComponentStateLayer layer)
    {
        var commit = layer.Commit ?? "";
        foreach (var suffix in new[] { "failed", "incomplete", "skipped" })
        {
            if (commit.EndsWith("_" + suffix, StringComparison.Ordinal))
            {
                layer = layer with { Commit = commit[..^(suffix.Length + 1)], Status = suffix };
            }
        }
        return layer with
        {
            Status = layer.Status ?? "applied",
            LastUpdated = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };
    }
}
