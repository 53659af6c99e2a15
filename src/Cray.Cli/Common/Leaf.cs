using System.CommandLine;
using System.Text.Json.Nodes;
using Cray.Cli.Output;

namespace Cray.Cli.Common;

/// <summary>Builds leaf commands: the global options, error reporting, and the result printed in the chosen format.</summary>
public static class Leaf
{
    public static Command Create(string name, string description, Func<CliContext, CancellationToken, Task<JsonNode?>> run, params Symbol[] symbols)
        => Build(name, description, includeFormat: true, async (context, cancellationToken) =>
        {
            var format = context.Format;
            var result = await run(context, cancellationToken);
            if (!ReferenceEquals(result, NoOutput))
            {
                CliHost.Current.Out.Write(OutputFormats.Render(result, format));
            }
            return 0;
        }, symbols);

    /// <summary>A leaf that prints its own output (and has its own <c>--format</c>, if any); <paramref name="run"/> returns the exit code.</summary>
    public static Command CreateWithOwnOutput(string name, string description, Func<CliContext, CancellationToken, Task<int>> run, params Symbol[] symbols)
        => Build(name, description, includeFormat: false, run, symbols);

    private static Command Build(string name, string description, bool includeFormat, Func<CliContext, CancellationToken, Task<int>> run, Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Option option:
                    command.Options.Add(option);
                    break;
            }
        }
        var requiredOptions = TakeRequiredOptions(command);
        GlobalOptions.AddTo(command, includeFormat);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = new CliContext(parseResult, CliHost.Current.Verbosity);
            try
            {
                if (includeFormat)
                {
                    // An invalid format is reported before a missing option, as the reference does.
                    _ = context.Format;
                }
                if (requiredOptions.FirstOrDefault(option => !context.IsGiven(option)) is { } missing)
                {
                    throw new CliException($"Missing option '{missing.Name}'.", showUsage: true);
                }
                return await run(context, cancellationToken);
            }
            catch (CliException exception)
            {
                return Report(parseResult, exception);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                CliHost.Current.Error.WriteLine("Aborted!");
                return 1;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or HttpRequestException or System.Text.Json.JsonException or InvalidOperationException)
            {
                // Never a traceback: one clear line, as for every other error.
                CliHost.Current.Error.WriteLine($"Error: {exception.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>
    /// Moves the check of required options from the parser to the action, because, as in the reference's
    /// click, a required value may come from the environment or the configuration. Returned in the order
    /// the reference reports them: its generated commands declare options in reverse of the request
    /// schema's order and click names the first missing one it meets, so ours, declared in the schema's
    /// order, are checked last first.
    /// </summary>
    private static Option[] TakeRequiredOptions(Command command)
    {
        var required = command.Options.Where(option => option.Required).Reverse().ToArray();
        foreach (var option in required)
        {
            option.Required = false;
            option.Description = $"{option.Description}  [required]";
        }
        return required;
    }

    public static Command Group(string name, string description, params Command[] children)
    {
        var group = new Command(name, description);
        foreach (var child in children)
        {
            group.Subcommands.Add(child);
        }
        return group;
    }

    /// <summary>Writes the error as the reference does and returns its exit code.</summary>
    public static int Report(ParseResult parseResult, CliException exception)
    {
        if (exception.ShowUsage)
        {
            CliHost.Current.Error.Write(UsageBlock(parseResult.CommandResult.Command));
        }
        CliHost.Current.Error.WriteLine($"Error: {exception.Message}");
        return exception.ExitCode;
    }

    public static string UsageBlock(Command command)
    {
        var path = CommandPath(command);
        var arguments = string.Concat(command.Arguments.Where(argument => !argument.Hidden).Select(argument => " " + argument.Name));
        var kind = command.Subcommands.Count > 0 ? " COMMAND [ARGS]..." : "";
        return $"Usage: {path} [OPTIONS]{arguments}{kind}\nTry '{path} -h' for help.\n\n";
    }

    public static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Symbol? symbol = command; symbol is Command current; symbol = current.Parents.FirstOrDefault())
        {
            names.Insert(0, current is RootCommand ? "cray" : current.Name);
        }
        return string.Join(' ', names);
    }

    /// <summary>A result marker for commands that print nothing (downloads, for example).</summary>
    public static readonly JsonNode NoOutput = JsonValue.Create("<no output>");
}
