namespace Cray.Cli.Common;

/// <summary>A failure the CLI reports as <c>Error: message</c> on stderr; usage errors also print the usage block.</summary>
public sealed class CliException(string message, int exitCode = 2, bool showUsage = false) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public bool ShowUsage { get; } = showUsage;
}
