using Cray.Ims.Jobs;
using Cray.Platform.Storage;
using Cray.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Cray.Ims.Tests;

/// <summary>
/// IMS workers on several servers share the jobs through leases: jobs are created on an API server,
/// then a worker on the same store (another server) meets jobs that other workers hold.
/// </summary>
public sealed class JobLeaseTests : IDisposable
{
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private readonly ImsTestServer api = new();
    private ImsTestServer? worker;

    public void Dispose()
    {
        worker?.Dispose();
        api.Dispose();
    }

    private IRecordStore Store => api.Services.GetRequiredService<IRecordStore>();

    private async Task<string> CreateJobAsync(string arch = "x86_64")
    {
        var imageId = (string)(await api.CreateImageAsync("source"))["id"]!;
        var manifest = await api.UploadImageFilesAsync(imageId);
        Assert.Equal(200, (await api.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{imageId}", ImsTestServer.LinkBody(manifest))).Status);
        Assert.Equal(200, (await api.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{imageId}", $$"""{"arch":"{{arch}}"}""")).Status);
        var (_, key, _) = await api.SendAsync(HttpMethod.Post, "/apis/ims/v3/public-keys", """{"name":"k","public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX user@host"}""");
        var (status, job, _) = await api.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs",
            $$$"""{"job_type":"customize","artifact_id":"{{{imageId}}}","public_key_id":"{{{key!["id"]}}}","image_root_archive_name":"result"}""");
        Assert.Equal(201, status);
        return (string)job!["id"]!;
    }

    /// <summary>What another server's worker writes when it claims a job and gets as far as waiting for the user.</summary>
    private async Task HoldAsync(string jobId, string workerName, DateTimeOffset? leaseExpires, string status = JobStatuses.WaitingOnUser)
        => Assert.NotNull(await Store.UpdateAsync<JobDocument>(JobService.Collection, jobId, document => document with
        {
            Worker = workerName,
            LeaseExpires = leaseExpires,
            Job = document.Job with { Status = status },
        }));

    private async Task<string> StatusAsync(string jobId) => (await Store.GetAsync<JobDocument>(JobService.Collection, jobId))!.Job.Status;

    [Fact]
    public async Task AJobWhoseWorkerStoppedRenewingEndsInErrorAndALiveWorkersJobIsLeftAlone()
    {
        var dead = await CreateJobAsync();
        var live = await CreateJobAsync();
        var older = await CreateJobAsync();
        await HoldAsync(dead, "gone-host", clock.GetUtcNow().AddSeconds(-1));
        await HoldAsync(live, "other-host", clock.GetUtcNow().AddMinutes(3));
        // Claimed by a server from before leases: it holds none, so it counts as expired.
        await HoldAsync(older, "old-host:1234", null);

        worker = new ImsTestServer { DataDirectory = api.DataDirectory, Worker = (clock, "this-host") };
        _ = worker.Services;
        await clock.AdvanceUntilAsync(async () => await StatusAsync(dead) == JobStatuses.Error && await StatusAsync(older) == JobStatuses.Error, TimeSpan.FromMinutes(1));

        Assert.Equal(JobStatuses.WaitingOnUser, await StatusAsync(live));
        var log = await File.ReadAllTextAsync(worker.Services.GetRequiredService<JobLogs>().PathOf(dead));
        Assert.Contains("Status error: worker gone-host stopped while the job was waiting_on_user (its lease expired at", log);
        Assert.Contains("it holds no lease", await File.ReadAllTextAsync(worker.Services.GetRequiredService<JobLogs>().PathOf(older)));

        await clock.AdvanceUntilAsync(async () => await StatusAsync(live) == JobStatuses.Error, TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task AJobClaimedButNotStartedByAWorkerThatStoppedIsRunByAnother()
    {
        var orphan = await CreateJobAsync();
        await HoldAsync(orphan, "gone-host", clock.GetUtcNow().AddSeconds(-1), JobStatuses.Creating);

        worker = new ImsTestServer { DataDirectory = api.DataDirectory, Worker = (clock, "this-host") };
        _ = worker.Services;
        await clock.AdvanceUntilAsync(async () => (await Store.GetAsync<JobDocument>(JobService.Collection, orphan))!.Worker == "this-host", TimeSpan.FromMinutes(1));
        var log = await File.ReadAllTextAsync(worker.Services.GetRequiredService<JobLogs>().PathOf(orphan));
        Assert.Contains("Worker gone-host stopped before it started the job; the job waits for another worker.", log);
        Assert.Contains("Claimed by worker this-host.", log);
    }

    [Fact]
    public async Task AtStartAWorkerEndsOnlyTheJobsItsOwnEarlierRunHeld()
    {
        var mine = await CreateJobAsync();
        var theirs = await CreateJobAsync();
        await HoldAsync(mine, "this-host", clock.GetUtcNow().AddMinutes(3));
        await HoldAsync(theirs, "other-host", clock.GetUtcNow().AddMinutes(3));

        worker = new ImsTestServer { DataDirectory = api.DataDirectory, Worker = (clock, "this-host") };
        _ = worker.Services;
        // The job's log line follows its status change: wait for both.
        var log = worker.Services.GetRequiredService<JobLogs>().PathOf(mine);
        await clock.AdvanceUntilAsync(async () => await StatusAsync(mine) == JobStatuses.Error
            && File.Exists(log) && (await File.ReadAllTextAsync(log)).Contains("cray-server stopped while the job was waiting_on_user", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatuses.WaitingOnUser, await StatusAsync(theirs));
    }

    [Fact]
    public async Task AJobForAnArchitectureNoLiveWorkerBuildsWaitsSayingSoThenEndsInError()
    {
        var jobId = await CreateJobAsync("aarch64");
        worker = new ImsTestServer
        {
            DataDirectory = api.DataDirectory,
            Worker = (clock, "this-host"),
            Settings = new Dictionary<string, string> { ["ims-worker-arch"] = "x86_64", ["ims-arch-wait-timeout"] = "3m" },
        };
        _ = worker.Services;
        var logs = worker.Services.GetRequiredService<JobLogs>();
        await clock.AdvanceUntilAsync(async () => File.Exists(logs.PathOf(jobId)) && (await File.ReadAllTextAsync(logs.PathOf(jobId))).Contains("Waiting:"), TimeSpan.FromMinutes(1));
        Assert.Contains("Waiting: no live ims-worker builds aarch64 (live workers: this-host (x86_64)); the job ends in error unless one starts by",
            await File.ReadAllTextAsync(logs.PathOf(jobId)));
        var document = await Store.GetAsync<JobDocument>(JobService.Collection, jobId);
        Assert.Null(document!.Worker);
        Assert.Equal(JobStatuses.Creating, document.Job.Status);

        await clock.AdvanceUntilAsync(async () => await StatusAsync(jobId) == JobStatuses.Error, TimeSpan.FromMinutes(4));
        var log = await File.ReadAllTextAsync(logs.PathOf(jobId));
        Assert.Contains("Status error: no live ims-worker builds aarch64, and none came within 00:03:00", log);
        Assert.Equal(1, log.Split("Waiting:").Length - 1);
    }

    [Fact]
    public async Task AWorkerTakesOnlyJobsOfItsArchitecturesAndNamesItselfAsTheirBuildNode()
    {
        var aarch64 = await CreateJobAsync("aarch64");
        var x86 = await CreateJobAsync("x86_64");
        worker = new ImsTestServer
        {
            DataDirectory = api.DataDirectory,
            Worker = (clock, "arm-node"),
            Settings = new Dictionary<string, string> { ["ims-worker-arch"] = "aarch64" },
        };
        _ = worker.Services;
        await clock.AdvanceUntilAsync(async () => (await Store.GetAsync<JobDocument>(JobService.Collection, aarch64))!.Worker == "arm-node", TimeSpan.FromMinutes(1));
        var (_, job, _) = await api.SendAsync(HttpMethod.Get, $"/apis/ims/v3/jobs/{aarch64}");
        Assert.Equal("arm-node", (string)job!["remote_build_node"]!);
        var waiting = await Store.GetAsync<JobDocument>(JobService.Collection, x86);
        Assert.Null(waiting!.Worker);
        Assert.Equal("", waiting.Job.RemoteBuildNode);
    }
}
