using System.Text.RegularExpressions;
using Cray.Cli;
using Cray.Cli.Common;

return await CrayCommandLine.RunAsync(args, CliHost.System());

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
