using Cray.Cli.Common;

namespace Cray.Cli.Tests;

public sealed record CrayResult(int ExitCode, string Output, string Error);

/// <summary>
/// <c>cray</c> run in the test's process on a host of its own: a private configuration directory,
/// no CRAY_* settings but those given, closed standard input (so a prompt can never wait), and
/// its output captured. Runs of different tests may go on in parallel.
/// </summary>
public sealed class InProcessCray : IDisposable
{
    public string ConfigDirectory { get; } = Directory.CreateTempSubdirectory("cray-cli-test-").FullName;

    public void Dispose() => Directory.Delete(ConfigDirectory, recursive: true);

    public Task<CrayResult> RunAsync(params string[] arguments) => RunAsync(new Dictionary<string, string>(), arguments);

    /// <summary>Runs with these environment variables (and only these, with CRAY_CONFIG_DIR) visible to the command.</summary>
    public async Task<CrayResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var variables = new Dictionary<string, string>(environment) { ["CRAY_CONFIG_DIR"] = ConfigDirectory };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var host = new CliHost
        {
            Out = output,
            Error = error,
            In = TextReader.Null,
            InputIsRedirected = true,
            ErrorIsRedirected = true,
            Variable = name => variables.GetValueOrDefault(name) ?? (name.StartsWith("CRAY_", StringComparison.Ordinal) ? null : Environment.GetEnvironmentVariable(name)),
        };
        // On a pool thread, so the bound holds even if the command blocks before its first await.
        var exitCode = await Task.Run(() => CrayCommandLine.RunAsync(arguments, host)).WaitAsync(TimeSpan.FromMinutes(1));
        return new CrayResult(exitCode, output.ToString(), error.ToString());
    }
}
