using System.CommandLine;

namespace Cray.Server;

/// <summary>
/// The command line, read with the library <c>cray</c> uses (the same help, usage errors and
/// environment fallbacks), and what is checked before the host is built: the privileges a role
/// needs, the data directory and the programs.
/// </summary>
public static class ServerCommandLine
{
    /// <summary>What the server starts with: the flags given, keyed as <see cref="ServerOptions.FromConfiguration"/> reads them, and the generic host's own flags.</summary>
    public sealed record StartSettings(IReadOnlyDictionary<string, string?> Settings, string[] HostArguments);

    /// <summary>An exit code when the command line was all there was to do (help, tokens, a usage error); otherwise the settings to start with.</summary>
    public static async Task<(int ExitCode, StartSettings? Start)> ParseAsync(string[] args, Func<string, string?> environment, TextWriter output, TextWriter error)
    {
        var flagOptions = ServerOptions.Flags.Select(flag => (Flag: flag, Option: new Option<string>("--" + flag.Name)
        {
            Description = $"{flag.Help} [env: {flag.EnvironmentVariable}]",
            HelpName = flag.ValueName,
        })).ToList();
        var hostOptions = ServerOptions.HostFlags.Select(name => new Option<string>("--" + name) { Hidden = true }).ToList();
        var root = new RootCommand("The CFS and IMS API server, IMS worker and CFS runner. Each flag may instead come from the environment variable named after it.");
        foreach (var option in flagOptions.Select(flag => flag.Option).Concat(hostOptions))
        {
            root.Options.Add(option);
        }
        root.Subcommands.Add(TokenCommands.Build(output, error));
        StartSettings? start = null;
        root.SetAction(parseResult =>
        {
            var settings = new Dictionary<string, string?>();
            foreach (var (flag, option) in flagOptions)
            {
                if ((parseResult.GetValue(option) ?? environment(flag.EnvironmentVariable)) is { } value)
                {
                    settings[flag.Name] = value;
                }
            }
            var hostArguments = hostOptions.Where(option => parseResult.GetValue(option) is not null)
                .Select(option => $"{option.Name}={parseResult.GetValue(option)}").ToArray();
            start = new StartSettings(settings, hostArguments);
            return 0;
        });

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            var command = parsed.CommandResult.Command;
            if (command.Subcommands.Count > 0 && command is not RootCommand
                && parsed.Errors.All(parseError => parseError.Message.StartsWith("Required command was not provided", StringComparison.Ordinal)))
            {
                // A group without a command shows its help, as cray's groups do.
                return (await root.Parse([.. args, "-h"]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }), null);
            }
            error.Write(UsageBlock(command));
            error.WriteLine($"Error: {Translate(parsed.Errors[0].Message)}");
            return (2, null);
        }
        var exitCode = await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, start);
    }

    /// <summary>The usage lines <c>cray</c> prints above a usage error.</summary>
    public static string UsageBlock(Command command)
    {
        var names = new List<string>();
        for (Symbol? symbol = command; symbol is Command current; symbol = current.Parents.FirstOrDefault())
        {
            names.Insert(0, current is RootCommand ? "cray-server" : current.Name);
        }
        var path = string.Join(' ', names);
        var arguments = string.Concat(command.Arguments.Select(argument => " " + argument.Name));
        var kind = command.Subcommands.Count > 0 ? " [COMMAND [ARGS]...]" : "";
        return $"Usage: {path} [OPTIONS]{arguments}{kind}\nTry '{path} -h' for help.\n\n";
    }

    private static string Translate(string message)
    {
        const string unrecognized = "Unrecognized command or argument '";
        if (message.StartsWith(unrecognized, StringComparison.Ordinal) && message.EndsWith("'.", StringComparison.Ordinal))
        {
            var token = message[unrecognized.Length..^2];
            return token.StartsWith('-') ? $"No such option: {token}" : $"Got unexpected extra argument ({token})";
        }
        const string missingValue = "Required argument missing for option: '";
        if (message.StartsWith(missingValue, StringComparison.Ordinal) && message.EndsWith("'.", StringComparison.Ordinal))
        {
            return $"Option '{message[missingValue.Length..^2]}' requires an argument.";
        }
        return message.StartsWith("Required argument missing", StringComparison.Ordinal) ? "Missing argument." : message;
    }

    /// <summary>Why the server cannot run with these options on this host, or null.</summary>
    public static string? StartProblem(ServerOptions options)
    {
        if (!Environment.IsPrivilegedProcess && options.HasRole(ServerOptions.ImsWorkerRole))
        {
            return "the ims-worker role runs sshd jails, mounts and unsquashfs as root; run cray-server as root or leave the role out (--roles api).";
        }
        if (DataDirectoryAccess.Problem(options.DataDirectory) is { } dataDirectoryProblem)
        {
            return dataDirectoryProblem;
        }
        var missingTools = RequiredTools.Missing(options.Roles);
        return missingTools.Count > 0 ? "missing programs:\n  " + string.Join("\n  ", missingTools) : null;
    }
}
