using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Cfs;

public enum CfsVersion
{
    V2,
    V3,
}

/// <summary>
/// <c>cray cfs …</c>: without a version the commands call v2, as the reference CLI's do; <c>cray cfs v2 …</c>
/// and <c>cray cfs v3 …</c> choose explicitly.
/// </summary>
public static class CfsCommands
{
    public static Command Build()
    {
        var cfs = Leaf.Group("cfs", "Configuration Framework Service");
        foreach (var command in VersionCommands(CfsVersion.V2))
        {
            cfs.Subcommands.Add(command);
        }
        foreach (var version in new[] { CfsVersion.V2, CfsVersion.V3 })
        {
            var group = Leaf.Group(version == CfsVersion.V2 ? "v2" : "v3", $"CFS API {(version == CfsVersion.V2 ? "v2" : "v3")}", VersionCommands(version).ToArray());
            group.Subcommands.Add(Leaf.Create("list", "Show the API version",
                (context, token) => context.Api.SendAsync(HttpMethod.Get, $"apis/cfs/{Segment(version)}", cancellationToken: token)));
            cfs.Subcommands.Add(group);
        }
        // The layer cache exists only in v3; `cray cfs cache` reaches it without the version, as the issue's users type it.
        cfs.Subcommands.Add(CacheCommands.Build());
        cfs.Subcommands.Add(Leaf.Create("list", "Show the service version",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, "apis/cfs/", cancellationToken: token)));
        cfs.Subcommands.Add(Leaf.Group("healthz", "Service health", Leaf.Create("list", "Show the service health",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, "apis/cfs/healthz", cancellationToken: token))));
        cfs.Subcommands.Add(Leaf.Group("versions", "Service versions", Leaf.Create("list", "Show the service version",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, "apis/cfs/versions", cancellationToken: token))));
        return cfs;
    }

    internal static string Segment(CfsVersion version) => version == CfsVersion.V2 ? "v2" : "v3";

    internal static string Base(CfsVersion version) => $"apis/cfs/{Segment(version)}";

    /// <summary>snake_case in v3, camelCase in v2.</summary>
    internal static string Key(CfsVersion version, string snake)
    {
        if (version == CfsVersion.V3)
        {
            return snake;
        }
        var parts = snake.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(part => char.ToUpperInvariant(part[0]) + part[1..]));
    }

    private static IEnumerable<Command> VersionCommands(CfsVersion version)
    {
        yield return SessionCommands.Build(version);
        yield return ConfigurationCommands.Build(version);
        yield return OptionCommands.Build(version);
        yield return ComponentCommands.Build(version);
        if (version == CfsVersion.V3)
        {
            yield return SourceCommands.Build();
            yield return CacheCommands.Build();
        }
    }

    /// <summary>Query booleans go out as True/False, as the reference CLI sends them.</summary>
    internal static string? QueryBoolean(bool? value) => value is null ? null : value.Value ? "True" : "False";

    internal static string Escape(string segment) => Uri.EscapeDataString(segment);
}

public static class ConfigurationCommands
{
    public static Command Build(CfsVersion version)
    {
        var basePath = $"{CfsCommands.Base(version)}/configurations";
        var group = Leaf.Group("configurations", "CFS configurations");

        var describeId = new Argument<string>("CONFIGURATION_ID");
        group.Subcommands.Add(Leaf.Create("describe", "Show a configuration",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(describeId)!)}", cancellationToken: token),
            describeId));

        var deleteId = new Argument<string>("CONFIGURATION_ID");
        group.Subcommands.Add(Leaf.Create("delete", "Delete a configuration (refused while components use it)",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(deleteId)!)}", cancellationToken: token),
            deleteId));

        var inUse = TypedOptions.Boolean("--in-use", "Only configurations that components use (true) or do not use (false)");
        var limit = TypedOptions.Integer("--limit", "Page size (v3)", minimum: 1);
        var afterId = new Option<string>("--after-id") { Description = "Start after this configuration (v3 paging)", HelpName = "ID" };
        var listOptions = version == CfsVersion.V3 ? new Option[] { inUse, limit, afterId } : [inUse];
        group.Subcommands.Add(Leaf.Create("list", "List configurations",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, basePath, query:
            [
                new("in_use", CfsCommands.QueryBoolean(context.Value(inUse))),
                new("limit", context.Value(limit)?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("after_id", context.Value(afterId)),
            ], cancellationToken: token),
            listOptions));

        var updateId = new Argument<string>("CONFIGURATION_ID");
        var file = new Option<string>("--file") { Description = "JSON file with the configuration (creates or replaces it)", HelpName = "FILE" };
        var updateBranches = new Option<bool>("--update-branches") { Description = "Resolve every layer's branch to its current commit again" };
        var dropBranches = TypedOptions.Boolean("--drop-branches", "Store only the resolved commits, not the branch names (v3)");
        var updateOptions = version == CfsVersion.V3 ? new Option[] { file, updateBranches, dropBranches } : [file, updateBranches];
        group.Subcommands.Add(Leaf.Create("update", "Create or replace a configuration from --file, or re-resolve its branches (--update-branches)", async (context, token) =>
        {
            var id = CfsCommands.Escape(context.ParseResult.GetValue(updateId)!);
            var path = context.Value(file);
            if (path is not null)
            {
                JsonNode? body;
                try
                {
                    body = JsonNode.Parse(await File.ReadAllTextAsync(path, token));
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    throw new CliException($"Invalid value for '--file': cannot read {path}: {exception.Message}", showUsage: true);
                }
                catch (JsonException exception)
                {
                    throw new CliException($"Invalid value for '--file': {path} is not valid JSON: {exception.Message}", showUsage: true);
                }
                return await context.Api.SendAsync(HttpMethod.Put, $"{basePath}/{id}", body ?? new JsonObject(),
                    query: [new("drop_branches", version == CfsVersion.V3 && context.Value(dropBranches) == true ? "True" : null)], cancellationToken: token);
            }
            if (context.ParseResult.GetValue(updateBranches))
            {
                return await context.Api.SendAsync(HttpMethod.Patch, $"{basePath}/{id}", cancellationToken: token);
            }
            throw new CliException("Either --file or --update-branches must be set for updates", showUsage: true);
        }, [updateId, .. updateOptions]));
        return group;
    }
}

public static class OptionCommands
{
    private sealed record OptionSpec(string Snake, string? V2Name, string Kind, string Description, bool V3Only = false, bool V2Only = false);

    private static readonly OptionSpec[] Specs =
    [
        new("session_ttl", "sessionTTL", "string", "How long complete sessions are kept, e.g. 7d or 24h (\"\" keeps them)"),
        new("default_ansible_config", null, "string", "Ansible configuration for sessions that name none"),
        new("default_playbook", null, "string", "Playbook used when a layer names none (v2 only; read-only in v3)", V2Only: true),
        new("additional_inventory_url", null, "string", "Git repository with extra inventory for every session"),
        new("additional_inventory_source", null, "string", "Source with extra inventory for every session", V3Only: true),
        new("batcher_disable", null, "bool", "Turn the batcher off"),
        new("batcher_max_backoff", null, "int", "Batcher maximum back-off in seconds"),
        new("batcher_pending_timeout", null, "int", "Seconds a batcher session may stay pending"),
        new("batcher_check_interval", null, "int", "Seconds between batcher checks"),
        new("batch_size", null, "int", "Components per batch"),
        new("batch_window", null, "int", "Seconds a batch waits to fill"),
        new("default_batcher_retry_policy", null, "int", "Default retries per component"),
        new("hardware_sync_interval", null, "int", "Seconds between hardware syncs"),
        new("logging_level", null, "choice", "DEBUG, INFO, WARNING or ERROR"),
        new("default_page_size", null, "int", "Page size for v3 lists and the v2 size limit", V3Only: true),
        new("debug_wait_time", null, "int", "Seconds a failed debug_on_failure session stays up", V3Only: true),
        new("include_ara_links", null, "bool", "Add the logs link to v3 sessions", V3Only: true),
        new("image_wait_timeout", null, "string", "How long an image session waits for an image IMS does not have yet, e.g. 1h"),
        new("session_timeout", null, "string", "A whole session's time limit, e.g. 12h"),
        new("layer_cache", null, "bool", "Whether image sessions reuse and store layers in the layer cache"),
        new("layer_cache_size_limit_mib", null, "int", "The layer cache's size limit in MiB; the least recently used layers go first"),
    ];

    public static Command Build(CfsVersion version)
    {
        var basePath = $"{CfsCommands.Base(version)}/options";
        // Our own options (session_timeout, image_wait_timeout, layer_cache…) are answered only when asked for, so a schema-checking client of the reference's API sees its shape.
        KeyValuePair<string, string?>[] withExtensions = [new("extensions", "true")];
        var group = Leaf.Group("options", "CFS options");
        group.Subcommands.Add(Leaf.Create("list", "Show every option", (context, token) => context.Api.SendAsync(HttpMethod.Get, basePath, query: withExtensions, cancellationToken: token)));

        var applicable = Specs.Where(spec => version == CfsVersion.V3 ? !spec.V2Only : !spec.V3Only).ToList();
        var options = applicable.Select(spec => (Spec: spec, Option: Create(spec))).ToList();
        group.Subcommands.Add(Leaf.Create("update", "Change options (only those given)", (context, token) =>
        {
            var body = new JsonObject();
            foreach (var (spec, option) in options)
            {
                var key = version == CfsVersion.V3 ? spec.Snake : spec.V2Name ?? CfsCommands.Key(version, spec.Snake);
                JsonNode? value = option switch
                {
                    Option<BooleanArgument?> flag => context.Value(flag) is { } set ? JsonValue.Create(set) : null,
                    Option<int?> number => context.Value(number) is { } set ? JsonValue.Create(set) : null,
                    Option<string> text => context.Value(text) is { } set ? JsonValue.Create(set) : null,
                    _ => null,
                };
                if (value is not null)
                {
                    body[key] = value;
                }
            }
            return context.Api.SendAsync(HttpMethod.Patch, basePath, body, withExtensions, token);
        }, options.Select(pair => (Symbol)pair.Option).ToArray()));
        return group;
    }

    private static Option Create(OptionSpec spec)
    {
        var name = "--" + spec.Snake.Replace('_', '-');
        switch (spec.Kind)
        {
            case "bool":
                return TypedOptions.Boolean(name, spec.Description);
            case "int":
                return TypedOptions.Integer(name, spec.Description, minimum: 0);
            default:
                var option = new Option<string>(name) { Description = spec.Description, HelpName = "TEXT" };
                if (spec.Kind == "choice")
                {
                    option.AcceptOnlyFromAmong("DEBUG", "INFO", "WARNING", "ERROR");
                }
                return option;
        }
    }
}
