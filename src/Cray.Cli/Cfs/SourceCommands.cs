using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Cfs;

/// <summary><c>cray cfs v3 sources …</c>. As in the reference CLI, a source id goes into the URL encoded twice.</summary>
public static class SourceCommands
{
    public static Command Build()
    {
        const string basePath = "apis/cfs/v3/sources";
        var group = Leaf.Group("sources", "CFS sources: repositories with credentials");

        var inUse = TypedOptions.Boolean("--in-use", "Only sources that configurations use (true) or do not use (false)");
        var limit = TypedOptions.Integer("--limit", "Page size", minimum: 1);
        var afterId = new Option<string>("--after-id") { Description = "Start after this source (paging)", HelpName = "ID" };
        group.Subcommands.Add(Leaf.Create("list", "List sources", (context, token) =>
            context.Api.SendAsync(HttpMethod.Get, basePath, query:
            [
                new("in_use", CfsCommands.QueryBoolean(context.Value(inUse))),
                new("limit", context.Value(limit)?.ToString(CultureInfo.InvariantCulture)),
                new("after_id", context.Value(afterId)),
            ], cancellationToken: token), inUse, limit, afterId));

        var describeId = new Argument<string>("SOURCE_ID");
        group.Subcommands.Add(Leaf.Create("describe", "Show a source (never its credentials)",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{basePath}/{TwiceEncoded(context.ParseResult.GetValue(describeId)!)}", cancellationToken: token),
            describeId));

        var deleteId = new Argument<string>("SOURCE_ID");
        group.Subcommands.Add(Leaf.Create("delete", "Delete a source (refused while configurations use it)",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{basePath}/{TwiceEncoded(context.ParseResult.GetValue(deleteId)!)}", cancellationToken: token),
            deleteId));

        var create = SourceOptions(required: true);
        group.Subcommands.Add(Leaf.Create("create", "Create a source", (context, token) =>
            context.Api.SendAsync(HttpMethod.Post, basePath, create.Body(context, true), cancellationToken: token), create.Options));

        var updateId = new Argument<string>("SOURCE_ID");
        var update = SourceOptions(required: false);
        group.Subcommands.Add(Leaf.Create("update", "Change a source (only what is given)", (context, token) =>
            context.Api.SendAsync(HttpMethod.Patch, $"{basePath}/{TwiceEncoded(context.ParseResult.GetValue(updateId)!)}", update.Body(context, false), cancellationToken: token),
            [updateId, .. update.Options]));
        return group;
    }

    internal static string TwiceEncoded(string id) => Uri.EscapeDataString(Uri.EscapeDataString(id));

    private sealed record SourceOptionSet(Option[] Options, Func<CliContext, bool, JsonObject> Body);

    private static SourceOptionSet SourceOptions(bool required)
    {
        var name = new Option<string>("--name") { Description = "Source name (default: the clone URL)", HelpName = "NAME" };
        var description = new Option<string>("--description") { Description = "Description", HelpName = "TEXT" };
        var cloneUrl = new Option<string>("--clone-url") { Description = "Repository URL", HelpName = "URL", Required = required };
        var username = new Option<string>("--credentials-username") { Description = "User name for the repository", HelpName = "USERNAME", Required = required };
        var password = new Option<string>("--credentials-password")
        {
            Description = "Password; prefer the CRAY_CFS_V3_SOURCES_" + (required ? "CREATE" : "UPDATE") + "_CREDENTIALS_PASSWORD variable or the prompt, which keep it off the command line",
            HelpName = "PASSWORD",
            // Without a terminal to prompt on, the reference's rule holds: the password is a required option.
            Required = required && CliHost.Current.InputIsRedirected,
        };
        var method = new Option<string>("--credentials-authentication-method") { Description = "Authentication method (password)", HelpName = "METHOD" };
        method.AcceptOnlyFromAmong("password");
        var caName = new Option<string>("--ca-cert-configmap-name") { Description = "Name of the CA certificate configuration (recorded)", HelpName = "NAME" };
        var caNamespace = new Option<string>("--ca-cert-configmap-namespace") { Description = "Its namespace (recorded)", HelpName = "NAMESPACE" };
        Option[] options = required
            ? [name, description, cloneUrl, username, password, method, caName, caNamespace]
            : [description, cloneUrl, username, password, method, caName, caNamespace];
        return new SourceOptionSet(options, (context, creating) =>
        {
            var body = new JsonObject();
            void Add(string key, string? value)
            {
                if (value is not null)
                {
                    body[key] = value;
                }
            }
            if (creating)
            {
                Add("name", context.Value(name));
            }
            Add("description", context.Value(description));
            Add("clone_url", context.Value(cloneUrl));
            var user = context.Value(username);
            if (user is not null || (creating && required))
            {
                var secret = context.Value(password) ?? PromptPassword();
                body["credentials"] = new JsonObject
                {
                    ["authentication_method"] = context.Value(method) ?? "password",
                    ["username"] = user,
                    ["password"] = secret,
                };
            }
            if (context.Value(caName) is { } configMap)
            {
                body["ca_cert"] = new JsonObject { ["configmap_name"] = configMap, ["configmap_namespace"] = context.Value(caNamespace) ?? "services" };
            }
            return body;
        });
    }

    private static string PromptPassword()
    {
        if (CliHost.Current.InputIsRedirected)
        {
            throw new CliException("Missing option '--credentials-password' (or its environment variable).", showUsage: true);
        }
        CliHost.Current.Error.Write("Password: ");
        var text = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                CliHost.Current.Error.WriteLine();
                return text.ToString();
            }
            if (key.Key == ConsoleKey.Backspace && text.Length > 0)
            {
                text.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }
    }
}
