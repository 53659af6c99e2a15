using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Cfs.Model;
using Cray.Platform.Storage;

namespace Cray.Cfs.Options;

/// <summary>One option: its v3 and v2 names, its default, how a new value is checked, and whether it is ours rather than the reference's.</summary>
public sealed record OptionDefinition(string Name, string? V2Name, JsonNode Default, Action<SchemaReader, string> Check, bool Extension = false);

/// <summary>
/// The CFS options: one record, every option filled in with its default on read, PATCH merging.
/// Four are ours: <c>image_wait_timeout</c>, <c>session_timeout</c>, <c>layer_cache</c> and <c>layer_cache_size_limit_mib</c>, shown with <c>?extensions=true</c> (see docs/decisions.md).
/// </summary>
public sealed partial class OptionsService(IRecordStore store)
{
    private const string RecordId = "options";

    public static readonly OptionDefinition[] Definitions =
    [
        String("default_ansible_config", "defaultAnsibleConfig", "cfs-default-ansible-cfg", maxLength: 60, pattern: AnsibleConfigNames.Pattern()),
        String("default_playbook", "defaultPlaybook", "site.yml"),
        Choice("logging_level", "loggingLevel", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"]),
        Integer("default_page_size", null, 1000, minimum: 1),
        Boolean("include_ara_links", null, true),
        Duration("session_ttl", "sessionTTL", "7d"),
        Integer("debug_wait_time", null, 3600, minimum: 0),
        String("additional_inventory_url", "additionalInventoryUrl", "", maxLength: 240),
        String("additional_inventory_source", null, "", maxLength: 60),
        Integer("batch_size", "batchSize", 25, minimum: 1),
        Integer("batch_window", "batchWindow", 60, minimum: 0),
        Integer("batcher_check_interval", "batcherCheckInterval", 10, minimum: 1),
        Boolean("batcher_disable", "batcherDisable", false),
        Integer("batcher_max_backoff", "batcherMaxBackoff", 3600, minimum: 0),
        Integer("batcher_pending_timeout", "batcherPendingTimeout", 300, minimum: 1),
        Integer("default_batcher_retry_policy", "defaultBatcherRetryPolicy", 3, minimum: 0),
        Integer("hardware_sync_interval", "hardwareSyncInterval", 10, minimum: 1),
        Duration("image_wait_timeout", "imageWaitTimeout", "1h") with { Extension = true },
        Duration("session_timeout", "sessionTimeout", "12h") with { Extension = true },
        Boolean("layer_cache", "layerCache", true) with { Extension = true },
        Integer("layer_cache_size_limit_mib", "layerCacheSizeLimitMib", 20480, minimum: 0) with { Extension = true },
    ];

    /// <summary>Every option with its value, defaults filled in (and saved, as the reference does).</summary>
    public async Task<JsonObject> GetAsync(CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync<JsonObject>(CfsCollections.Options, RecordId, cancellationToken);
        var options = stored ?? [];
        var missing = Definitions.Where(definition => !options.ContainsKey(definition.Name)).ToList();
        foreach (var definition in missing)
        {
            options[definition.Name] = definition.Default.DeepClone();
        }
        if (missing.Count > 0)
        {
            await store.WriteAsync(RecordWrite.Upsert(CfsCollections.Options, RecordId, options), cancellationToken);
        }
        return options;
    }

    public async Task<JsonObject> PatchAsync(IReadOnlyDictionary<string, JsonNode?> changes, CancellationToken cancellationToken)
    {
        var options = await GetAsync(cancellationToken);
        foreach (var (name, value) in changes)
        {
            options[name] = value?.DeepClone();
        }
        await store.WriteAsync(RecordWrite.Upsert(CfsCollections.Options, RecordId, options), cancellationToken);
        return options;
    }

    public static int PageSize(JsonObject options) => options["default_page_size"]?.GetValue<int>() ?? 1000;

    /// <summary>The layer_cache_size_limit_mib option in bytes.</summary>
    public static long LayerCacheSizeLimitBytes(JsonObject options) => (options["layer_cache_size_limit_mib"]?.GetValue<int>() ?? 20480) * 1024L * 1024;

    public static string Text(JsonObject options, string name) => options[name]?.GetValue<string>() ?? "";

    /// <summary>A duration option (session_ttl and ours) as a time span; null when disabled ("").</summary>
    public static TimeSpan? DurationOf(JsonObject options, string name)
    {
        var text = Text(options, name);
        return text.Length == 0 ? null : Sessions.SessionRequests.ParseAge(text);
    }

    private static OptionDefinition String(string name, string? v2Name, string value, int maxLength = int.MaxValue, Regex? pattern = null)
        => new(name, v2Name, JsonValue.Create(value), (reader, field) => reader.String(field, maxLength: maxLength, pattern: pattern));

    private static OptionDefinition Choice(string name, string? v2Name, string value, string[] choices)
        => new(name, v2Name, JsonValue.Create(value), (reader, field) => reader.Enum(field, choices));

    private static OptionDefinition Integer(string name, string? v2Name, int value, int minimum)
        => new(name, v2Name, JsonValue.Create(value), (reader, field) => reader.Integer(field, minimum));

    private static OptionDefinition Boolean(string name, string? v2Name, bool value)
        => new(name, v2Name, JsonValue.Create(value), (reader, field) => reader.Boolean(field));

    private static OptionDefinition Duration(string name, string? v2Name, string value)
        => new(name, v2Name, JsonValue.Create(value), (reader, field) => reader.String(field, maxLength: 10, pattern: DurationPattern()));

    [GeneratedRegex("^(?:[0-9]+[mMhHdDwW]){0,1}$")]
    private static partial Regex DurationPattern();

    internal static JsonValueKind KindOf(JsonNode? node) => node?.GetValueKind() ?? JsonValueKind.Null;
}
