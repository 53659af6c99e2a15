using Cray.Processes;

namespace Cray.Ims.Tests;

/// <summary>The process runner says why a program failed, which the worker and the CLI turn into their own advice.</summary>
public sealed class ProcessFailureTests
{
    [Fact]
    public async Task AMissingProgramATimeoutAndAnExitCodeAreTold()
    {
        var missing = await Assert.ThrowsAsync<ProcessFailedException>(() => ProcessRunner.Instance.RunAsync(new ProcessRequest("no-such-program-cray-test", [])));
        Assert.Equal(ProcessFailure.NotStarted, missing.Failure);

        var slow = await Assert.ThrowsAsync<ProcessFailedException>(() => ProcessRunner.Instance.RunAsync(new ProcessRequest("sleep", ["10"]) { Timeout = TimeSpan.FromMilliseconds(200) }));
        Assert.Equal(ProcessFailure.TimedOut, slow.Failure);

        var failing = await Assert.ThrowsAsync<ProcessFailedException>(() => ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("false", [])));
        Assert.Equal(ProcessFailure.ExitCode, failing.Failure);
    }
}
