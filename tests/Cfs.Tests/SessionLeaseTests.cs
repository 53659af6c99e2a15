using System.Text.Json.Nodes;
using Cray.Cfs.Model;
using Cray.Cfs.Runner;
using Cray.Platform.Storage;
using Cray.Platform.Work;
using Cray.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Cray.Cfs.Tests;

/// <summary>
/// Runners on several servers share the sessions through leases: the real runner in-process on an
/// injected clock, next to sessions other (simulated) runners hold.
/// </summary>
public sealed class SessionLeaseTests : IDisposable
{
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private readonly CfsTestServer server;

    public SessionLeaseTests() => server = new CfsTestServer { RunnerClock = clock };

    public void Dispose() => server.Dispose();

    private IRecordStore Store => server.Services.GetRequiredService<IRecordStore>();

    private async Task CreateSessionAsync(string name)
    {
        // An image IMS does not know: a session this runner claims waits for it (an hour by default).
        var (status, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", $$$"""
            {"name":"{{{name}}}","configuration_name":"configurations-example",
             "target":{"definition":"image","groups":[{"name":"Compute","members":["{{{Guid.NewGuid()}}}"]}]}}
            """);
        Assert.Equal(201, status);
    }

    /// <summary>What another server's runner writes when it claims a session.</summary>
    private async Task HoldAsync(string name, WorkLease lease, string status = SessionStates.Running)
        => Assert.NotNull(await Store.UpdateAsync<SessionRecord>(CfsCollections.Sessions, name, session => session with
        {
            Status = session.Status with { Session = session.Status.Session with { Job = "cfs-" + Guid.NewGuid(), Status = status } },
            Runner = lease,
        }));

    /// <summary>An IMS job as a runner starts one for an image session (no worker runs here, so it stays creating).</summary>
    private async Task<string> CreateImsJobAsync()
    {
        var (_, image) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"source"}""");
        var imageId = (string)image!["id"]!;
        var manifest = await server.UploadImageFilesAsync(imageId);
        Assert.Equal(200, (await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{imageId}", $$$"""{"link":{"type":"s3","path":"{{{manifest}}}"}}""")).Status);
        var (_, key) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/public-keys",
            """{"name":"k","public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX user@host"}""");
        var (status, job) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs",
            $$$"""{"job_type":"customize","artifact_id":"{{{imageId}}}","public_key_id":"{{{key!["id"]}}}","image_root_archive_name":"result"}""");
        Assert.Equal(201, status);
        return (string)job!["id"]!;
    }

    private async Task<JsonNode> SessionAsync(string name) => (await server.SendAsync(HttpMethod.Get, $"/apis/cfs/v3/sessions/{name}")).Body!;

    [Fact]
    public async Task ASessionWhoseRunnerStoppedRenewingEndsAndALiveRunnersSessionIsLeftAlone()
    {
        await server.PutConfigurationAsync();
        await CreateSessionAsync("dead-runner");
        await CreateSessionAsync("live-runner");
        await HoldAsync("dead-runner", new WorkLease("gone-host", clock.GetUtcNow().AddSeconds(-1)));
        await HoldAsync("live-runner", new WorkLease("other-host", clock.GetUtcNow().AddMinutes(3)));
        // The IMS job the dead runner had started waits for a signal that will never come.
        var imsJob = await CreateImsJobAsync();
        await Store.UpdateAsync<SessionRecord>(CfsCollections.Sessions, "dead-runner", session => session with { ImsJobs = [imsJob] });

        // The session completes first, then its IMS jobs are deleted, each saying so in its log.
        var logPath = server.Services.GetRequiredService<SessionLogs>().PathOf("dead-runner");
        await clock.AdvanceUntilAsync(async () => File.Exists(logPath) && (await File.ReadAllTextAsync(logPath)).Contains($"Deleted IMS job {imsJob}"), TimeSpan.FromMinutes(1));
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/jobs/{imsJob}")).Status);
        var dead = await SessionAsync("dead-runner");
        Assert.Equal("false", (string?)dead["status"]!["session"]!["succeeded"]);
        Assert.Null(dead["runner"]);
        var log = await File.ReadAllTextAsync(server.Services.GetRequiredService<SessionLogs>().PathOf("dead-runner"));
        Assert.Contains("runner gone-host stopped (its lease expired at", log);
        Assert.Contains($"Deleted IMS job {imsJob}, which the interrupted session had started.", log);
        // Kept in the record for whoever ends the session, never shown.
        Assert.Equal([imsJob], (await Store.GetAsync<SessionRecord>(CfsCollections.Sessions, "dead-runner"))!.ImsJobs);
        Assert.Null(dead["ims_jobs"]);
        Assert.Equal("running", (string?)(await SessionAsync("live-runner"))["status"]!["session"]!["status"]);

        // The other runner stops renewing too: once its lease is over, its session ends the same way.
        await clock.AdvanceUntilAsync(async () => (string?)(await SessionAsync("live-runner"))["status"]!["session"]!["status"] == "complete", TimeSpan.FromMinutes(5));
        Assert.True(clock.GetUtcNow() >= (await Store.GetAsync<SessionRecord>(CfsCollections.Sessions, "live-runner"))!.Runner!.Expires);
    }

    [Fact]
    public async Task ASessionClaimedButNotStartedByARunnerThatStoppedIsRunByAnother()
    {
        await server.PutConfigurationAsync();
        await CreateSessionAsync("orphan");
        await HoldAsync("orphan", new WorkLease("gone-host", clock.GetUtcNow().AddSeconds(-1)), SessionStates.Pending);

        await clock.AdvanceUntilAsync(async () => (await Store.GetAsync<SessionRecord>(CfsCollections.Sessions, "orphan"))!.Runner?.Holder == Environment.MachineName,
            TimeSpan.FromMinutes(1));
        var log = await File.ReadAllTextAsync(server.Services.GetRequiredService<SessionLogs>().PathOf("orphan"));
        Assert.Contains("Runner gone-host stopped before it started this session; it waits for another runner.", log);
        Assert.NotEqual("complete", (string?)(await SessionAsync("orphan"))["status"]!["session"]!["status"]);
    }

    [Fact]
    public async Task DeletingARunningSessionThroughAnotherServerStopsItOnTheRunner()
    {
        await server.PutConfigurationAsync();
        await CreateSessionAsync("elsewhere");
        var control = server.Services.GetRequiredService<SessionControl>();
        await clock.AdvanceUntilAsync(() => Task.FromResult(control.IsRunning("elsewhere")), TimeSpan.FromMinutes(1));

        using var otherApi = new CfsTestServer { DataDirectory = server.DataDirectory };
        Assert.Equal(204, (await otherApi.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/sessions/elsewhere")).Status);
        var deleted = clock.GetUtcNow();
        await clock.AdvanceUntilAsync(() => Task.FromResult(!control.IsRunning("elsewhere")), TimeSpan.FromSeconds(30));
        Assert.InRange(clock.GetUtcNow() - deleted, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Null(await Store.GetAsync<SessionRecord>(CfsCollections.Sessions, "elsewhere"));
    }

    [Fact]
    public async Task ASessionThisRunnerRunsKeepsItsLeaseRenewed()
    {
        await server.PutConfigurationAsync();
        await CreateSessionAsync("mine");
        await clock.AdvanceUntilAsync(async () => (await Store.GetAsync<SessionRecord>(CfsCollections.Sessions, "mine"))!.Runner is not null, TimeSpan.FromMinutes(1));
        var claimed = (await Store.GetAsync<SessionRecord>(CfsCollections.Sessions, "mine"))!.Runner!;
        Assert.Equal(Environment.MachineName, claimed.Holder);

        // Five lease lengths later the session still waits for its image, under a lease that never lapsed.
        var end = clock.GetUtcNow() + TimeSpan.FromMinutes(5);
        while (clock.GetUtcNow() < end)
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            await Task.Delay(5);
            Assert.True((await Store.GetAsync<SessionRecord>(CfsCollections.Sessions, "mine"))!.Runner!.Expires > clock.GetUtcNow(), "the lease lapsed");
        }
        Assert.True((await Store.GetAsync<SessionRecord>(CfsCollections.Sessions, "mine"))!.Runner!.Expires > claimed.Expires);
        var session = await SessionAsync("mine");
        Assert.NotEqual("complete", (string?)session["status"]!["session"]!["status"]);
        Assert.Null(session["runner"]);
    }
}
