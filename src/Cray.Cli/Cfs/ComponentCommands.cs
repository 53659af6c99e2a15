using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Cfs;

/// <summary><c>cray cfs [v2|v3] components …</c>: describe, list, update and updatemany (with the reference CLI's updatemany bugs fixed).</summary>
public static class ComponentCommands
{
    public static Command Build(CfsVersion version)
    {
        var v3 = version == CfsVersion.V3;
        var basePath = $"{CfsCommands.Base(version)}/components";
        var group = Leaf.Group("components", "CFS components");

        var describeId = new Argument<string>("COMPONENT_ID");
        var describeConfig = TypedOptions.Boolean("--config-details", "Add the desired state, layer by layer");
        var describeState = TypedOptions.Boolean("--state-details", "Add the recorded state (v3)");
        group.Subcommands.Add(Leaf.Create("describe", "Show a component", (context, token) =>
            context.Api.SendAsync(HttpMethod.Get, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(describeId)!)}", query:
            [
                new(CfsCommands.Key(version, "config_details"), CfsCommands.QueryBoolean(context.Value(describeConfig))),
                new("state_details", v3 ? CfsCommands.QueryBoolean(context.Value(describeState)) : null),
            ], cancellationToken: token),
            v3 ? [describeId, describeConfig, describeState] : [describeId, describeConfig]));

        var ids = new Option<string>("--ids") { Description = "Component ids, comma separated", HelpName = "IDS" };
        var status = new Option<string>("--status") { Description = "unconfigured, failed, pending or configured (comma separated)", HelpName = "STATUS" };
        var enabled = TypedOptions.Boolean("--enabled", "Only enabled (true) or disabled (false) components");
        var configName = new Option<string>("--config-name") { Description = "Only components with this desired configuration", HelpName = "NAME" };
        var configDetails = TypedOptions.Boolean("--config-details", "Add the desired state, layer by layer");
        var stateDetails = TypedOptions.Boolean("--state-details", "Add the recorded state (v3)");
        var tags = new Option<string>("--tags") { Description = "Only components with these tags: key=value[,key2=value2]", HelpName = "TAGS" };
        var limit = TypedOptions.Integer("--limit", "Page size (v3)", minimum: 1);
        var afterId = new Option<string>("--after-id") { Description = "Start after this component (v3 paging)", HelpName = "ID" };
        var listOptions = new List<Option> { ids, status, enabled, configName, configDetails, tags };
        if (v3)
        {
            listOptions.AddRange([stateDetails, limit, afterId]);
        }
        group.Subcommands.Add(Leaf.Create("list", "List components", (context, token) =>
            context.Api.SendAsync(HttpMethod.Get, basePath, query:
            [
                new("ids", context.Value(ids)),
                new("status", context.Value(status)),
                new("enabled", CfsCommands.QueryBoolean(context.Value(enabled))),
                new(CfsCommands.Key(version, "config_name"), context.Value(configName)),
                new(CfsCommands.Key(version, "config_details"), CfsCommands.QueryBoolean(context.Value(configDetails))),
                new("tags", context.Value(tags)),
                new("state_details", v3 ? CfsCommands.QueryBoolean(context.Value(stateDetails)) : null),
                new("limit", v3 ? context.Value(limit)?.ToString(CultureInfo.InvariantCulture) : null),
                new("after_id", v3 ? context.Value(afterId) : null),
            ], cancellationToken: token),
            [.. listOptions]));

        var updateId = new Argument<string>("COMPONENT_ID");
        var patch = PatchOptions(version);
        group.Subcommands.Add(Leaf.Create("update", "Change a component (only what is given)", (context, token) =>
            context.Api.SendAsync(HttpMethod.Patch, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(updateId)!)}", patch.Body(context, null), cancellationToken: token),
            [updateId, .. patch.Options]));

        var filterIds = new Option<string>("--filter-ids") { Description = "Components to change: ids, comma separated", HelpName = "IDS" };
        var filterStatus = new Option<string>("--filter-status") { Description = "Components to change: by status", HelpName = "STATUS" };
        var filterEnabled = TypedOptions.Boolean("--filter-enabled", "Components to change: enabled or not");
        var filterConfigName = new Option<string>("--filter-config-name") { Description = "Components to change: by desired configuration", HelpName = "NAME" };
        var filterTags = new Option<string>("--filter-tags") { Description = "Components to change: by tags key=value[,...]", HelpName = "TAGS" };
        var patchJson = new Option<string>("--patch") { Description = "The change as JSON (other options are merged into it)", HelpName = "JSON" };
        var many = PatchOptions(version);
        group.Subcommands.Add(Leaf.Create("updatemany", "Change every component that matches the filters", (context, token) =>
        {
            var filters = new JsonObject();
            void Add(string name, JsonNode? value)
            {
                if (value is not null)
                {
                    filters[name] = value;
                }
            }
            Add("ids", context.Value(filterIds));
            Add("status", context.Value(filterStatus));
            // The reference CLI drops "--filter-enabled false"; a false filter is a filter.
            Add("enabled", context.Value(filterEnabled) is { } flag ? JsonValue.Create(flag) : null);
            Add(CfsCommands.Key(version, "config_name"), context.Value(filterConfigName));
            Add("tags", context.Value(filterTags));
            if (filters.Count == 0)
            {
                throw new CliException("At least one filter must be set for updates.", showUsage: true);
            }
            return context.Api.SendAsync(HttpMethod.Patch, basePath,
                new JsonObject { ["filters"] = filters, ["patch"] = many.Body(context, context.Value(patchJson)) }, cancellationToken: token);
        }, [filterIds, filterStatus, filterEnabled, filterConfigName, filterTags, patchJson, .. many.Options]));
        return group;
    }

    private sealed record Patch(Option[] Options, Func<CliContext, string?, JsonObject> Body);

    private static Patch PatchOptions(CfsVersion version)
    {
        var desiredConfig = new Option<string>("--desired-config") { Description = "Configuration the component should have", HelpName = "NAME" };
        var enabled = TypedOptions.Boolean("--enabled", "Whether CFS keeps the component configured");
        var errorCount = TypedOptions.Integer("--error-count", "Failed attempts so far (0 to retry)", minimum: 0);
        var retryPolicy = TypedOptions.Integer("--retry-policy", "Attempts allowed (-1 for no limit)", minimum: -1);
        var state = new Option<string>("--state") { Description = "Recorded state as JSON, e.g. '[]' to clear it", HelpName = "JSON" };
        var tags = new Option<string>("--tags") { Description = "Tags key=value[,key2=value2]; an empty value removes a tag", HelpName = "TAGS" };
        return new Patch([desiredConfig, enabled, errorCount, retryPolicy, state, tags], (context, baseJson) =>
        {
            var body = baseJson is null ? new JsonObject() : ParseJson(baseJson, "--patch") as JsonObject
                ?? throw new CliException("Invalid value for '--patch': give a JSON object.", showUsage: true);
            void Add(string snake, JsonNode? value)
            {
                if (value is not null)
                {
                    body[CfsCommands.Key(version, snake)] = value;
                }
            }
            Add("desired_config", context.Value(desiredConfig));
            Add("enabled", context.Value(enabled) is { } flag ? JsonValue.Create(flag) : null);
            Add("error_count", context.Value(errorCount) is { } count ? JsonValue.Create(count) : null);
            Add("retry_policy", context.Value(retryPolicy) is { } policy ? JsonValue.Create(policy) : null);
            Add("state", context.Value(state) is { } stateText ? ParseJson(stateText, "--state") : null);
            if (context.Value(tags) is { } tagText)
            {
                var parsed = new JsonObject();
                foreach (var pair in tagText.Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    var parts = pair.Split('=', 2);
                    parsed[parts[0].Trim()] = parts.Length > 1 ? parts[1].Trim() : "";
                }
                body["tags"] = parsed;
            }
            return body;
        });
    }

    private static JsonNode? ParseJson(string text, string option)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException exception)
        {
            throw new CliException($"Invalid value for '{option}': not valid JSON: {exception.Message}", showUsage: true);
        }
    }
}
