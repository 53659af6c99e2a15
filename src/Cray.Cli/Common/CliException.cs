namespace Cray.Cli.Common;

/// <summary>A failure the CLI reports as <c>Error: message</c> on stderr; usage errors also print the usage block.</summary>
public sealed class CliException(string message, int exitCode = 2, bool showUsage = false) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public bool ShowUsage { get; } = showUsage;

    /// <summary>The server's answer when the failure is an HTTP error status.</summary>
    public System.Net.HttpStatusCode? Status { get; init; }
}
