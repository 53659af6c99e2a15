using System.Text.Json.Nodes;

namespace Cray.EndToEnd.Tests;

/// <summary>A crash while a job waits on the user: the restarted worker stops the orphaned sshd, cleans up and ends the job in error.</summary>
public sealed class WorkerRecoveryTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    [Fact]
    public async Task JobsACrashLeftBehindEndInErrorAndLeaveNothingRunning()
    {
        var jobId = (string)(await environment.CreateJobAsync("interrupted"))["id"]!;
        await environment.WaitAsync(jobId, until: "waiting_on_user");
        environment.Cray.CrashServer();
        Assert.True(JobEnvironment.SshdRunningFor(jobId), "the crash should leave the job's sshd behind for recovery to find");
        Assert.Contains(JobEnvironment.ProcessesFor(jobId), process => process.CommandLine.StartsWith("slirp4netns", StringComparison.Ordinal));
        var dataDirectory = environment.Cray.DataDirectory;
        Assert.Contains(await OverlayStagingTests.LoopBackingFilesAsync(), file => file.StartsWith(dataDirectory, StringComparison.Ordinal));

        await environment.Cray.StartServerAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonNode job;
        do
        {
            job = JsonNode.Parse((await environment.Cray.CrayAsync("ims", "jobs", "describe", jobId, "--format", "json")).Output)!;
            await Task.Delay(200);
        }
        while ((string?)job["status"] != "error" && DateTime.UtcNow < deadline);

        Assert.Equal("error", (string?)job["status"]);
        // Nothing of the job runs any more: sshd, the sessions' network (slirp4netns), the namespace holders.
        Assert.Empty(JobEnvironment.ProcessesFor(jobId));
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
        var loopDeadline = DateTime.UtcNow.AddSeconds(10);
        while ((await OverlayStagingTests.LoopBackingFilesAsync()).Any(file => file.StartsWith(dataDirectory, StringComparison.Ordinal)) && DateTime.UtcNow < loopDeadline)
        {
            await Task.Delay(200);
        }
        Assert.DoesNotContain(await OverlayStagingTests.LoopBackingFilesAsync(), file => file.StartsWith(dataDirectory, StringComparison.Ordinal));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), line => line.Contains(dataDirectory, StringComparison.Ordinal));
        Assert.Contains("cray-server stopped while the job was waiting_on_user", (await environment.Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output);
    }
}
