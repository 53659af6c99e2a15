using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Cray.Processes;

/// <summary>What to run: a program and its argument list (never a shell string), with a bound on how long it may take.</summary>
public sealed record ProcessRequest(string FileName, IReadOnlyList<string> Arguments)
{
    public string? WorkingDirectory { get; init; }

    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public TimeSpan Timeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Receives every line the program prints, standard output and standard error alike.</summary>
    public Action<string>? OutputLine { get; init; }

    /// <summary>Told the process id once the program has started (for a namespace holder or a process tree to watch).</summary>
    public Action<int>? Started { get; init; }

    public string Describe() => FileName + (Arguments.Count == 0 ? "" : " " + string.Join(' ', Arguments));
}

public sealed record ProcessResult(int ExitCode, string Output)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Why a program failed: callers tell a missing program from one that ran and failed.</summary>
public enum ProcessFailure
{
    NotStarted,
    TimedOut,
    ExitCode,
}

public sealed class ProcessFailedException(ProcessRequest request, string message, ProcessFailure failure) : Exception(message)
{
    public ProcessRequest Request { get; } = request;

    public ProcessFailure Failure { get; } = failure;
}

public interface IProcessRunner
{
    /// <summary>
    /// Runs the program to its end and returns its exit code and the last part of its output.
    /// A timeout or cancellation kills the program and everything it started, then throws.
    /// </summary>
    Task<ProcessResult> RunAsync(ProcessRequest request, CancellationToken cancellationToken = default);
}

public sealed class ProcessRunner : IProcessRunner
{
    private const int KeptOutputCharacters = 16 * 1024;

    public static ProcessRunner Instance { get; } = new();

    public async Task<ProcessResult> RunAsync(ProcessRequest request, CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(request.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = request.WorkingDirectory ?? "",
        };
        foreach (var argument in request.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in request.Environment)
        {
            startInfo.Environment[name] = value;
        }

        using var process = new Process { StartInfo = startInfo };
        var kept = new StringBuilder();
        void Receive(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (kept)
            {
                kept.AppendLine(line);
                if (kept.Length > KeptOutputCharacters)
                {
                    kept.Remove(0, kept.Length - KeptOutputCharacters);
                }
            }
            request.OutputLine?.Invoke(line);
        }
        process.OutputDataReceived += (_, e) => Receive(e.Data);
        process.ErrorDataReceived += (_, e) => Receive(e.Data);

        try
        {
            process.Start();
        }
        catch (Win32Exception exception)
        {
            throw new ProcessFailedException(request, $"Cannot start {request.FileName}: {exception.Message}", ProcessFailure.NotStarted);
        }
        process.StandardInput.Close();
        request.Started?.Invoke(process.Id);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(request.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await process.WaitForExitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            KillTree(process);
            if (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new ProcessFailedException(request, $"{request.FileName} did not finish within {request.Timeout} and was stopped.", ProcessFailure.TimedOut);
            }
            throw;
        }
        // The parameterless wait also drains the redirected output streams.
        process.WaitForExit();
        lock (kept)
        {
            return new ProcessResult(process.ExitCode, kept.ToString());
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // It has already exited.
        }
    }
}

public static class ProcessRunnerExtensions
{
    /// <summary>Runs the program and throws with its output's tail when it exits non-zero.</summary>
    public static async Task<ProcessResult> RunCheckedAsync(this IProcessRunner runner, ProcessRequest request, CancellationToken cancellationToken = default)
    {
        var result = await runner.RunAsync(request, cancellationToken);
        if (!result.Succeeded)
        {
            var tail = result.Output.Length > 2000 ? result.Output[^2000..] : result.Output;
            throw new ProcessFailedException(request, $"{request.FileName} exited with code {result.ExitCode}: {tail.Trim()}", ProcessFailure.ExitCode);
        }
        return result;
    }
}
