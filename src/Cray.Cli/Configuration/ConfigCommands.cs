using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using Cray.Cli.Common;
using Tomlyn.Model;

namespace Cray.Cli.Configuration;

/// <summary><c>cray init</c> and <c>cray config use|list|describe|get|set|unset</c>.</summary>
public static class ConfigCommands
{
    public static Command BuildInit()
    {
        var hostname = new Option<string>("--hostname") { Description = "Hostname of the Cray API (https://… ; http:// is allowed for a loopback host)", HelpName = "HOSTNAME" };
        var tenant = new Option<string>("--tenant") { Description = "Tenant name to send with every request", HelpName = "TENANT" };
        var noAuth = new Option<bool>("--no-auth") { Description = "Do not log in" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Overwrite an existing configuration without asking" };
        var command = new Command("init", "Initialize or reinitialize the Cray CLI");
        foreach (var option in new Option[] { hostname, tenant, noAuth, overwrite, GlobalOptions.Configuration, GlobalOptions.Quiet })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                var name = parseResult.GetValue(GlobalOptions.Configuration) ?? CliHost.Current.Variable("CRAY_CONFIG") ?? CrayConfiguration.DefaultName;
                var path = CrayConfiguration.PathOf(name);
                if (File.Exists(path) && !parseResult.GetValue(overwrite)
                    && !Prompts.Confirm($"Overwrite configuration file at: {path} ?"))
                {
                    throw new CliException("Not overwriting an existing configuration. Use --overwrite to replace it.");
                }
                var host = parseResult.GetValue(hostname) ?? Prompts.Ask("Cray Hostname");
                var configuration = CrayConfiguration.CreateEmpty(name);
                configuration.Set("core", "hostname", NormaliseHostname(host));
                configuration.Set("core", "tenant", parseResult.GetValue(tenant) ?? "");
                configuration.Save();
                CrayConfiguration.Activate(name);
                if (!parseResult.GetValue(noAuth))
                {
                    if (await AuthCommands.RequiresTokenAsync(configuration.Hostname!, cancellationToken))
                    {
                        await AuthCommands.LoginAsync(configuration, username: null, token: null, cancellationToken);
                    }
                    else
                    {
                        CliHost.Current.Error.WriteLine("Note: this cray-server does not require tokens (it runs without --auth token); continuing without logging in.");
                    }
                }
                CliHost.Current.Out.WriteLine("Initialization complete.");
                return 0;
            }
            catch (CliException exception)
            {
                return Leaf.Report(parseResult, exception);
            }
        });
        return command;
    }

    /// <summary>
    /// The reference forces https. cray-server speaks plain HTTP unless given a certificate, and only
    /// on loopback, so a loopback host keeps http (or gets it when no scheme is given) unless https is
    /// asked for; every other host gets https.
    /// </summary>
    public static string NormaliseHostname(string host)
    {
        host = host.Trim().TrimEnd('/');
        var withoutScheme = host;
        string? givenScheme = null;
        foreach (var scheme in new[] { "https://", "http://" })
        {
            if (host.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                withoutScheme = host[scheme.Length..];
                givenScheme = scheme;
            }
        }
        if (withoutScheme.Length == 0 || !Uri.TryCreate("http://" + withoutScheme, UriKind.Absolute, out var parsed))
        {
            throw new CliException($"Invalid value for '--hostname': '{host}' is not a host name or URL.", showUsage: true);
        }
        var loopback = parsed.IsLoopback || (IPAddress.TryParse(parsed.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
        // https is kept wherever it is asked for (a server with --tls-certificate on loopback).
        return (loopback && givenScheme != "https://" ? "http://" : "https://") + withoutScheme;
    }

    public static Command BuildConfig()
    {
        var config = Leaf.Group("config", "View and edit Cray CLI configurations");

        var useName = new Argument<string>("CONFIG_NAME");
        config.Subcommands.Add(Leaf.Create("use", "Switch to another configuration", (context, _) =>
        {
            var name = context.ParseResult.GetValue(useName)!;
            if (!CrayConfiguration.Exists(name))
            {
                throw new CliException("Unable to find configuration file.");
            }
            CrayConfiguration.Activate(name);
            CliHost.Current.Out.WriteLine($"Your active configuration is: {name}");
            return Task.FromResult<JsonNode?>(Leaf.NoOutput);
        }, useName));

        config.Subcommands.Add(Leaf.Create("list", "List the configurations", (_, _) =>
        {
            var active = CrayConfiguration.ActiveName;
            var list = new JsonArray(CrayConfiguration.ListNames()
                .Select(name => (JsonNode?)new JsonObject { ["name"] = name, ["is_active"] = name == active }).ToArray());
            return Task.FromResult<JsonNode?>(new JsonObject { ["configurations"] = list });
        }));

        config.Subcommands.Add(Leaf.Create("describe", "Show the active configuration", (context, _) =>
        {
            var configuration = context.Configuration;
            CliHost.Current.Out.WriteLine($"Your active configuration is: {configuration.Name}");
            return Task.FromResult<JsonNode?>(ToJson(configuration.Table));
        }));

        var getKey = new Argument<string>("KEY") { Description = "Dotted path, for example core.hostname" };
        config.Subcommands.Add(Leaf.Create("get", "Print one configuration value", (context, _) =>
        {
            var value = context.Configuration.Get(context.ParseResult.GetValue(getKey)!) ?? throw new CliException("Unable to find property.");
            if (value is TomlTable table)
            {
                return Task.FromResult<JsonNode?>(ToJson(table));
            }
            CliHost.Current.Out.WriteLine(value is bool flag ? (flag ? "True" : "False") : value.ToString());
            return Task.FromResult<JsonNode?>(Leaf.NoOutput);
        }, getKey));

        var setSection = new Argument<string>("SECTION") { Description = "Dotted section, for example core" };
        var setValues = new Argument<string[]>("KEY=VALUE") { Arity = ArgumentArity.OneOrMore };
        config.Subcommands.Add(Leaf.Create("set", "Set values in a section: cray config set core hostname=https://…", (context, _) =>
        {
            var configuration = context.Configuration;
            foreach (var pair in context.ParseResult.GetValue(setValues)!)
            {
                var equals = pair.IndexOf('=');
                if (equals <= 0)
                {
                    throw new CliException($"Invalid value for 'KEY=VALUE': '{pair}' has no '='.", showUsage: true);
                }
                configuration.Set(context.ParseResult.GetValue(setSection)!, pair[..equals], pair[(equals + 1)..]);
            }
            configuration.Save();
            return Task.FromResult<JsonNode?>(null);
        }, setSection, setValues));

        var unsetKeys = new Argument<string[]>("KEY") { Arity = ArgumentArity.OneOrMore, Description = "Dotted paths to remove" };
        config.Subcommands.Add(Leaf.Create("unset", "Remove configuration values", (context, _) =>
        {
            var configuration = context.Configuration;
            foreach (var key in context.ParseResult.GetValue(unsetKeys)!)
            {
                configuration.Unset(key);
            }
            configuration.Save();
            return Task.FromResult<JsonNode?>(null);
        }, unsetKeys));
        return config;
    }

    public static JsonObject ToJson(TomlTable table)
    {
        var result = new JsonObject();
        foreach (var (key, value) in table)
        {
            result[key] = value switch
            {
                TomlTable child => ToJson(child),
                string text => text,
                bool flag => flag,
                long number => number,
                double number => number,
                TomlArray array => new JsonArray(array.Select(item => (JsonNode?)JsonValue.Create(item?.ToString())).ToArray()),
                _ => value?.ToString(),
            };
        }
        return result;
    }
}
