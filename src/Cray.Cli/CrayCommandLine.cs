using System.CommandLine;
using Cray.Cli.Artifacts;
using Cray.Cli.Bootprep;
using Cray.Cli.Cfs;
using Cray.Cli.Common;
using Cray.Cli.Configuration;
using Cray.Cli.Ims;

namespace Cray.Cli;

/// <summary>One run of <c>cray</c>: the command tree, parsed and invoked on a host's streams and environment.</summary>
public static class CrayCommandLine
{
    public static async Task<int> RunAsync(string[] args, CliHost host)
    {
        var (arguments, verbosity) = GlobalOptions.ExtractVerbosity(args);
        host.Verbosity = verbosity;
        CliHost.Current = host;
        var invocation = new InvocationConfiguration { Output = host.Out, Error = host.Error };


        var root = new RootCommand("Cray management and workflow tool");
        root.Subcommands.Add(ConfigCommands.BuildInit());
        root.Subcommands.Add(ConfigCommands.BuildConfig());
        root.Subcommands.Add(AuthCommands.Build());
        root.Subcommands.Add(ImsCommands.Build());
        root.Subcommands.Add(ArtifactsCommands.Build());
        root.Subcommands.Add(CfsCommands.Build());
        root.Subcommands.Add(BootprepCommands.Build());
        var version = root.Options.OfType<VersionOption>().FirstOrDefault();
        if (version is not null)
        {
            version.Description = "Show the version and exit";
        }

        var parseResult = root.Parse(arguments);
        if (parseResult.Errors.Count > 0)
        {
            var command = parseResult.CommandResult.Command;
            if (command.Subcommands.Count > 0 && parseResult.Errors.All(error => error.Message.StartsWith("Required command was not provided", StringComparison.Ordinal)))
            {
                // A group without a command shows its help, as the reference does.
                return await root.Parse([.. arguments, "-h"]).InvokeAsync(invocation);
            }
            host.Error.Write(Leaf.UsageBlock(command));
            var first = parseResult.Errors[0];
            host.Error.WriteLine($"Error: {UsageErrors.Translate(first.Message, (first.SymbolResult as System.CommandLine.Parsing.OptionResult)?.Option.Name)}");
            return 2;
        }
        return await parseResult.InvokeAsync(invocation);
    }
}
