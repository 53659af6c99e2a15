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

    private async Task<string> CreateJobAsync()
    {
        var imageId = (string)(await api.CreateImageAsync("source"))["id"]!;
        var manifest = await api.UploadImageFilesAsync(imageId);
        Assert.Equal(200, (await api.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{imageId}", ImsTestServer.LinkBody(manifest))).Status);
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
        await clock.AdvanceUntilAsync(async () => await StatusAsync(mine) == JobStatuses.Error, TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatuses.WaitingOnUser, await StatusAsync(theirs));
        Assert.Contains("cray-server stopped while the job was waiting_on_user", await File.ReadAllTextAsync(worker.Services.GetRequiredService<JobLogs>().PathOf(mine)));
    }
}
