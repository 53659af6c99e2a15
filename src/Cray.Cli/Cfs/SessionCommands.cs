using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Cfs;

/// <summary><c>cray cfs [v2|v3] sessions …</c>, with the reference CLI's request bodies.</summary>
public static class SessionCommands
{
    public static Command Build(CfsVersion version)
    {
        var basePath = $"{CfsCommands.Base(version)}/sessions";
        var group = Leaf.Group("sessions", "CFS sessions");
        group.Subcommands.Add(Create(version, basePath));

        var describeName = new Argument<string>("SESSION_NAME");
        group.Subcommands.Add(Leaf.Create("describe", "Show a session",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(describeName)!)}", cancellationToken: token),
            describeName));

        var deleteName = new Argument<string>("SESSION_NAME");
        group.Subcommands.Add(Leaf.Create("delete", "Delete a session (a running one is stopped)",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(deleteName)!)}", cancellationToken: token),
            deleteName));

        if (version == CfsVersion.V3)
        {
            var releaseName = new Argument<string>("SESSION_NAME");
            group.Subcommands.Add(Leaf.Create("release", "End a failed debug_on_failure session's hold now (the reference: kubectl exec, touch /tmp/complete)",
                (context, token) => context.Api.SendAsync(HttpMethod.Post, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(releaseName)!)}/release", cancellationToken: token),
                releaseName));
        }

        group.Subcommands.Add(LogCommand.Create("Print a session's log: every step and all Ansible output (the reference needs kubectl logs)",
            "SESSION_NAME", "Keep printing until the session completes", name => $"{basePath}/{name}/logs"));

        var list = Filters(version, paging: version == CfsVersion.V3, defaultStatus: null);
        group.Subcommands.Add(Leaf.Create("list", "List sessions",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, basePath, query: list.Query(context), cancellationToken: token),
            list.Options));

        // As in the reference, deleteall deletes only complete sessions unless --status says otherwise ("" for any).
        var deleteAll = Filters(version, paging: false, defaultStatus: "complete");
        group.Subcommands.Add(Leaf.Create("deleteall", "Delete every session that matches the filters (by default, every complete session)",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, basePath, query: deleteAll.Query(context), cancellationToken: token),
            deleteAll.Options));
        return group;
    }

    private sealed record FilterOptions(Option[] Options, Func<CliContext, List<KeyValuePair<string, string?>>> Query);

    private static FilterOptions Filters(CfsVersion version, bool paging, string? defaultStatus)
    {
        var status = new Option<string>("--status") { Description = "pending, running or complete", HelpName = "STATUS" };
        if (defaultStatus is not null)
        {
            status.DefaultValueFactory = _ => defaultStatus;
        }
        status.AcceptOnlyFromAmong("pending", "running", "complete", "");
        var succeeded = new Option<string>("--succeeded") { Description = "none, true, false or unknown", HelpName = "SUCCEEDED" };
        succeeded.AcceptOnlyFromAmong("none", "true", "false", "unknown", "");
        var nameContains = new Option<string>("--name-contains") { Description = "Only sessions whose name contains this", HelpName = "TEXT" };
        var minAge = new Option<string>("--min-age") { Description = "Only sessions started at least this long ago (1d, 6h)", HelpName = "AGE" };
        var maxAge = new Option<string>("--max-age") { Description = "Only sessions started at most this long ago (1d, 6h)", HelpName = "AGE" };
        var tags = new Option<string>("--tags") { Description = "Only sessions with these tags: key=value[,key2=value2]", HelpName = "TAGS" };
        var age = new Option<string>("--age") { Description = "Deprecated: the same as --min-age", HelpName = "AGE" };
        var limit = TypedOptions.Integer("--limit", "Page size", minimum: 1);
        var afterId = new Option<string>("--after-id") { Description = "Start after this session name (paging)", HelpName = "NAME" };
        var options = new List<Option> { status, succeeded, nameContains, minAge, maxAge, tags };
        if (version == CfsVersion.V2)
        {
            options.Add(age);
        }
        if (paging)
        {
            options.Add(limit);
            options.Add(afterId);
        }
        return new FilterOptions([.. options], context =>
        [
            new("status", context.Value(status)),
            new("succeeded", context.Value(succeeded)),
            new("name_contains", context.Value(nameContains)),
            new("min_age", context.Value(minAge)),
            new("max_age", context.Value(maxAge)),
            new("tags", context.Value(tags)),
            new("age", version == CfsVersion.V2 ? context.Value(age) : null),
            new("limit", paging ? context.Value(limit)?.ToString(CultureInfo.InvariantCulture) : null),
            new("after_id", paging ? context.Value(afterId) : null),
        ]);
    }

    private static Command Create(CfsVersion version, string basePath)
    {
        var name = new Option<string>("--name") { Description = "Session name (lower-case letters, digits, '-' and '.'; at most 45)", Required = true, HelpName = "NAME" };
        var configurationName = new Option<string>("--configuration-name") { Description = "Configuration to apply", Required = true, HelpName = "NAME" };
        var configurationLimit = new Option<string>("--configuration-limit") { Description = "Layers to run: names or 0-based indices, comma separated", HelpName = "LAYERS" };
        var ansibleLimit = new Option<string>("--ansible-limit") { Description = "Ansible --limit for every layer", HelpName = "PATTERN" };
        var ansibleConfig = new Option<string>("--ansible-config") { Description = "Ansible configuration to use", HelpName = "NAME" };
        var verbosity = TypedOptions.Integer("--ansible-verbosity", "Ansible verbosity, 0 to 4", minimum: 0);
        var passthrough = new Option<string>("--ansible-passthrough") { Description = "Extra ansible-playbook arguments (-e, -f, --skip-tags, --start-at-task, -t)", HelpName = "ARGS" };
        var debugOnFailure = TypedOptions.Boolean("--debug-on-failure", "Keep a failed session's environment up for debugging (v3)");
        var definition = new Option<string>("--target-definition")
        {
            Description = "image, spec, repo or dynamic",
            HelpName = "DEFINITION",
            DefaultValueFactory = _ => "dynamic",
        };
        definition.AcceptOnlyFromAmong("image", "spec", "repo", "dynamic");
        var targetGroup = PairOption("--target-group", "A group and its members: NAME MEMBER[,MEMBER...] (repeatable)");
        var imageMap = PairOption("--target-image-map", "Name of the result of one image: SOURCE_ID RESULT_NAME (repeatable)");
        var tags = new Option<string>("--tags") { Description = "Tags: key=value[,key2=value2]", HelpName = "TAGS" };
        var noCache = new Option<bool>("--no-cache") { Description = "Run every layer: reuse nothing from the layer cache (what the layers make is still stored)" };
        var wait = new Option<bool>("--wait") { Description = "Wait for the session to complete, showing its phases; exit 0 only if it succeeded" };

        var symbols = new List<Symbol> { name, configurationName, configurationLimit, ansibleLimit, ansibleConfig, verbosity, passthrough };
        if (version == CfsVersion.V3)
        {
            symbols.Add(debugOnFailure);
        }
        symbols.AddRange([definition, targetGroup, imageMap, tags, noCache, wait]);
        return Leaf.Create("create", "Create a session", async (context, token) =>
        {
            var body = BuildBody(version,
                context.Value(name)!, context.Value(configurationName)!, context.Value(configurationLimit), context.Value(ansibleLimit),
                context.Value(ansibleConfig), context.Value(verbosity), context.Value(passthrough),
                version == CfsVersion.V3 ? context.Value(debugOnFailure) : null,
                context.Value(definition)!, Pairs(context.ParseResult, targetGroup), Pairs(context.ParseResult, imageMap), context.Value(tags),
                context.ParseResult.GetValue(noCache));
            var created = await context.Api.SendAsync(HttpMethod.Post, basePath, body, cancellationToken: token);
            if (!context.ParseResult.GetValue(wait))
            {
                return created;
            }
            return await WaitAsync(context, basePath, context.Value(name)!, token);
        }, [.. symbols]);
    }

    /// <summary>
    /// Follows the session's log, showing its phases on stderr, then prints the completed session
    /// and fails (exit 1) unless it succeeded.
    /// </summary>
    private static async Task<JsonNode?> WaitAsync(CliContext context, string basePath, string name, CancellationToken token)
    {
        var escaped = CfsCommands.Escape(name);
        using (var request = new HttpRequestMessage(HttpMethod.Get, context.Api.Url($"apis/cfs/v3/sessions/{escaped}/logs", [new("follow", "true")])))
        using (var response = await context.Api.SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, token))
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync(token)))
        {
            string? line;
            while ((line = await reader.ReadLineAsync(token)) is not null)
            {
                if (line.Contains(" Phase ", StringComparison.Ordinal) || line.Contains(" Waiting for image", StringComparison.Ordinal)
                    || line.Contains(" reused from the layer cache", StringComparison.Ordinal)
                    || line.Contains(" Failed: ", StringComparison.Ordinal) || line.Contains(" customized: result ", StringComparison.Ordinal))
                {
                    context.Log(line);
                }
            }
        }
        var session = await context.Api.SendAsync(HttpMethod.Get, $"{basePath}/{escaped}", cancellationToken: token);
        if ((string?)session?["status"]?["session"]?["succeeded"] != "true")
        {
            CliHost.Current.Out.Write(Output.OutputFormats.Render(session, context.Format));
            throw new CliException($"Session {name} did not succeed; see: cray cfs sessions logs {name}", exitCode: 1);
        }
        return session;
    }

    /// <summary>The body the reference CLI sends: only the given fields, plus a target block that is always there.</summary>
    internal static JsonObject BuildBody(CfsVersion version, string name, string configurationName, string? configurationLimit, string? ansibleLimit,
        string? ansibleConfig, int? verbosity, string? passthrough, bool? debugOnFailure, string definition,
        IReadOnlyList<(string First, string Second)> groups, IReadOnlyList<(string First, string Second)> imageMap, string? tags, bool noCache = false)
    {
        var body = new JsonObject { ["name"] = name, [CfsCommands.Key(version, "configuration_name")] = configurationName };
        void Add(string snake, JsonNode? value)
        {
            if (value is not null)
            {
                body[CfsCommands.Key(version, snake)] = value;
            }
        }
        Add("configuration_limit", configurationLimit);
        Add("ansible_limit", ansibleLimit);
        Add("ansible_config", ansibleConfig);
        Add("ansible_verbosity", verbosity);
        Add("ansible_passthrough", passthrough);
        Add("debug_on_failure", debugOnFailure);
        Add("layer_cache", noCache ? false : null);
        body["target"] = new JsonObject
        {
            ["definition"] = definition,
            ["groups"] = new JsonArray(groups.Select(group => (JsonNode?)new JsonObject
            {
                ["name"] = group.First,
                ["members"] = new JsonArray(group.Second.Split(',').Select(member => (JsonNode?)member.Trim()).ToArray()),
            }).ToArray()),
            ["image_map"] = new JsonArray(imageMap.Select(mapping => (JsonNode?)new JsonObject
            {
                ["source_id"] = mapping.First,
                ["result_name"] = mapping.Second,
            }).ToArray()),
        };
        if (tags is not null)
        {
            body["tags"] = ParseTags(tags);
        }
        return body;
    }

    /// <summary>key=value pairs split on ',' then '='; as in the reference, "k=v=w" keeps "v".</summary>
    internal static JsonObject ParseTags(string text)
    {
        var tags = new JsonObject();
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=');
            if (parts.Length < 2)
            {
                throw new CliException($"Invalid value for '--tags': '{pair}' is not key=value.", showUsage: true);
            }
            tags[parts[0].Trim()] = parts[1].Trim();
        }
        return tags;
    }

    /// <summary>An option that takes two values per use and may be repeated.</summary>
    private static Option<string[]> PairOption(string name, string description)
        => new(name)
        {
            Description = description,
            HelpName = "NAME VALUE",
            Arity = new ArgumentArity(2, 2),
            AllowMultipleArgumentsPerToken = true,
        };

    private static List<(string First, string Second)> Pairs(ParseResult parseResult, Option<string[]> option)
    {
        var result = parseResult.GetResult(option);
        if (result is null)
        {
            return [];
        }
        // Each use of the option contributes two tokens.
        var tokens = result.Tokens.Select(token => token.Value).ToList();
        var pairs = new List<(string, string)>();
        for (var index = 0; index + 1 < tokens.Count; index += 2)
        {
            pairs.Add((tokens[index], tokens[index + 1]));
        }
        return pairs;
    }
}
