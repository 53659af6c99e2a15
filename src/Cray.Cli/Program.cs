using System.CommandLine;
using System.Text.RegularExpressions;
using Cray.Cli.Artifacts;
using Cray.Cli.Cfs;
using Cray.Cli.Common;
using Cray.Cli.Configuration;
using Cray.Cli.Ims;

var (arguments, verbosity) = GlobalOptions.ExtractVerbosity(args);
Leaf.Verbosity = verbosity;

var root = new RootCommand("Cray management and workflow tool");
root.Subcommands.Add(ConfigCommands.BuildInit());
root.Subcommands.Add(ConfigCommands.BuildConfig());
root.Subcommands.Add(AuthCommands.Build());
root.Subcommands.Add(ImsCommands.Build());
root.Subcommands.Add(ArtifactsCommands.Build());
root.Subcommands.Add(CfsCommands.Build());
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
        return root.Parse([.. arguments, "-h"]).Invoke();
    }
    Console.Error.Write(Leaf.UsageBlock(command));
    var first = parseResult.Errors[0];
    Console.Error.WriteLine($"Error: {UsageErrors.Translate(first.Message, (first.SymbolResult as System.CommandLine.Parsing.OptionResult)?.Option.Name)}");
    return 2;
}
return await parseResult.InvokeAsync();

/// <summary>Rewrites the parser's messages into the reference CLI's wording.</summary>
internal static partial class UsageErrors
{
    /// <param name="optionName">The option the error is about, when the parser says so (its choice errors do not name it).</param>
    public static string Translate(string message, string? optionName = null)
    {
        if (InvalidChoice().Match(message) is { Success: true } invalid && optionName is not null)
        {
            // click: Invalid value for '--arch': 'sparc' is not one of 'aarch64', 'x86_64'.
            var choices = invalid.Groups[2].Captures.Select(capture => $"'{capture.Value}'");
            return $"Invalid value for '{optionName}': '{invalid.Groups[1].Value}' is not one of {string.Join(", ", choices)}.";
        }
        if (Unrecognized().Match(message) is { Success: true } unrecognized)
        {
            var token = unrecognized.Groups[1].Value;
            return token.StartsWith('-') ? $"No such option: {token}" : $"Got unexpected extra argument ({token})";
        }
        if (MissingArgument().IsMatch(message))
        {
            return "Missing argument.";
        }
        return message;
    }

    [GeneratedRegex("^Unrecognized command or argument '(.+)'\\.$")]
    private static partial Regex Unrecognized();

    [GeneratedRegex("^Argument '(.*)' not recognized\\. Must be one of:(?:\\s*'(.*)')+\\s*$")]
    private static partial Regex InvalidChoice();

    [GeneratedRegex("^Required argument missing")]
    private static partial Regex MissingArgument();
}
