using System.Text.Json.Nodes;

namespace Cray.EndToEnd.Tests;

/// <summary>Crashes in a job's life: the restarted worker stops what the job left running and leaves records and objects consistent.</summary>
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

    [Fact]
    public async Task ACrashWhilePackingLeavesNoImageWithoutObjectsAndNoObjectWithoutAnImage()
    {
        var jobId = (string)(await environment.CreateJobAsync("packed-during-a-crash"))["id"]!;
        var job = await environment.WaitAsync(jobId, until: "waiting_on_user");
        await environment.SshCheckedAsync(JobEnvironment.SshPort(job), "touch /tmp/complete");
        // Watched closely (not through the CLI, whose start-up is slower than the phase) so the crash lands while packing.
        using (var http = new HttpClient())
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            string? status;
            do
            {
                status = (string?)JsonNode.Parse(await http.GetStringAsync($"{environment.Cray.Hostname}/apis/ims/v3/jobs/{jobId}"))!["status"];
                await Task.Delay(10);
            }
            while (status != "packaging_artifacts" && status is not ("success" or "error") && DateTime.UtcNow < deadline);
            Assert.Equal("packaging_artifacts", status);
        }
        await Task.Delay(Random.Shared.Next(0, 500));
        environment.Cray.CrashServer();

        await environment.Cray.StartServerAsync();
        var ended = await environment.WaitAsync(jobId);
        var images = JsonNode.Parse((await environment.Cray.CrayAsync("ims", "images", "list", "--format", "json")).Output)!.AsArray();
        var results = images.Where(image => (string?)image!["name"] == "packed-during-a-crash").ToList();
        if ((string?)ended["status"] == "success")
        {
            // The crash came after the result was linked: the job is done and the image whole.
            var result = Assert.Single(results)!;
            Assert.Equal((string?)ended["resultant_image_id"], (string?)result["id"]);
            Assert.NotNull(result["link"]);
        }
        else
        {
            Assert.Equal("error", (string?)ended["status"]);
            Assert.Empty(results);
        }
        var check = JsonNode.Parse((await environment.Cray.CrayAsync("artifacts", "check", "--min-age", "0s", "--format", "json")).Output)!;
        Assert.Empty(check["unowned"]!.AsArray());
        Assert.Empty(check["records_missing_objects"]!.AsArray());
        Assert.Empty(JobEnvironment.ProcessesFor(jobId));
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
    }
}
