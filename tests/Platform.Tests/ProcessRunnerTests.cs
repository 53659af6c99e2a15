using Cray.Processes;

namespace Cray.Platform.Tests;

/// <summary>The one process runner: argument lists, bounds, and nothing left running when it stops a program.</summary>
public sealed class ProcessRunnerTests
{
    private readonly ProcessRunner runner = ProcessRunner.Instance;

    private static bool Running(int processId)
        => File.Exists($"/proc/{processId}/stat") && File.ReadAllText($"/proc/{processId}/stat").Split(')')[^1].Trim()[0] != 'Z';

    [Fact]
    public async Task ArgumentsReachTheProgramAsGivenWithNoShellInBetween()
    {
        string[] arguments = ["a b", "$(echo injected)", "; rm -rf /", "*", "'quoted'"];
        var result = await runner.RunCheckedAsync(new ProcessRequest("printf", ["%s\n", .. arguments]));
        Assert.Equal(arguments, result.Output.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task ATimeoutStopsTheProgramAndEverythingItStarted()
    {
        var children = new List<int>();
        var request = new ProcessRequest("sh", ["-c", "sleep 300 & echo $!; wait"])
        {
            Timeout = TimeSpan.FromSeconds(1),
            OutputLine = line => { lock (children) { children.Add(int.Parse(line, System.Globalization.CultureInfo.InvariantCulture)); } },
        };
        var failure = await Assert.ThrowsAsync<ProcessFailedException>(() => runner.RunAsync(request));
        Assert.Equal(ProcessFailure.TimedOut, failure.Failure);
        var sleeper = Assert.Single(children);
        Assert.False(Running(sleeper), $"sleep ({sleeper}) outlived the timeout");
    }

    [Fact]
    public async Task CancellationStopsTheProgramAndEverythingItStarted()
    {
        var children = new List<int>();
        using var cancellation = new CancellationTokenSource();
        var request = new ProcessRequest("sh", ["-c", "sleep 300 & echo $!; wait"])
        {
            OutputLine = line =>
            {
                lock (children)
                {
                    children.Add(int.Parse(line, System.Globalization.CultureInfo.InvariantCulture));
                }
                cancellation.Cancel();
            },
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(request, cancellation.Token));
        Assert.False(Running(Assert.Single(children)));
    }

    [Fact]
    public async Task AMissingProgramIsToldApartFromOneThatFailed()
    {
        var missing = await Assert.ThrowsAsync<ProcessFailedException>(() => runner.RunAsync(new ProcessRequest("/nonexistent/program", [])));
        Assert.Equal(ProcessFailure.NotStarted, missing.Failure);

        var failed = await Assert.ThrowsAsync<ProcessFailedException>(() => runner.RunCheckedAsync(new ProcessRequest("sh", ["-c", "echo why it failed >&2; exit 3"])));
        Assert.Equal(ProcessFailure.ExitCode, failed.Failure);
        Assert.Contains("exited with code 3", failed.Message);
        Assert.Contains("why it failed", failed.Message);
    }

    [Fact]
    public async Task OnlyTheOutputsTailIsKeptButEveryLineIsSeen()
    {
        var seen = 0;
        var result = await runner.RunCheckedAsync(new ProcessRequest("seq", ["1", "20000"]) { OutputLine = _ => Interlocked.Increment(ref seen) });
        Assert.Equal(20000, seen);
        Assert.True(result.Output.Length <= 16 * 1024 + 16, $"kept {result.Output.Length} characters");
        Assert.EndsWith("19999\n20000\n", result.Output);
    }

    [Fact]
    public async Task TheEnvironmentIsTheCallersPlusWhatTheRequestSetsOrRemoves()
    {
        Environment.SetEnvironmentVariable("CRAY_PROCESS_TEST_REMOVED", "present");
        var result = await runner.RunCheckedAsync(new ProcessRequest("sh", ["-c", "echo \"$CRAY_PROCESS_TEST_SET|${CRAY_PROCESS_TEST_REMOVED:-gone}\""])
        {
            Environment = new Dictionary<string, string?> { ["CRAY_PROCESS_TEST_SET"] = "set", ["CRAY_PROCESS_TEST_REMOVED"] = null },
        });
        Assert.Equal("set|gone", result.Output.Trim());
    }
}
