using System.Diagnostics;

namespace Cray.Cli.Tests;

public sealed record CrayResult(int ExitCode, string Output, string Error);

/// <summary>The built <c>cray</c> CLI run as a process, with a private configuration directory and no CRAY_* settings inherited.</summary>
public sealed class BuiltCray : IDisposable
{
    public string ConfigDirectory { get; } = Directory.CreateTempSubdirectory("cray-cli-test-").FullName;

    public void Dispose() => Directory.Delete(ConfigDirectory, recursive: true);

    public Task<CrayResult> RunAsync(params string[] arguments) => RunAsync(new Dictionary<string, string>(), arguments);

    /// <summary>Runs with these environment variables set; standard input is closed, so a prompt can never wait.</summary>
    public async Task<CrayResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "cray.dll") },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.Where(name => name.StartsWith("CRAY_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["CRAY_CONFIG_DIR"] = ConfigDirectory;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"cray {string.Join(' ', arguments)} did not finish within a minute.");
        }
        return new CrayResult(process.ExitCode, await output, await error);
    }
}
