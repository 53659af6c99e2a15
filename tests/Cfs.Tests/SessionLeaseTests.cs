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

    private async Task<JsonNode> SessionAsync(string name) => (await server.SendAsync(HttpMethod.Get, $"/apis/cfs/v3/sessions/{name}")).Body!;

    [Fact]
    public async Task ASessionWhoseRunnerStoppedRenewingEndsAndALiveRunnersSessionIsLeftAlone()
    {
        await server.PutConfigurationAsync();
        await CreateSessionAsync("dead-runner");
        await CreateSessionAsync("live-runner");
        await HoldAsync("dead-runner", new WorkLease("gone-host", clock.GetUtcNow().AddSeconds(-1)));
        await HoldAsync("live-runner", new WorkLease("other-host", clock.GetUtcNow().AddMinutes(3)));

        await clock.AdvanceUntilAsync(async () => (string?)(await SessionAsync("dead-runner"))["status"]!["session"]!["status"] == "complete", TimeSpan.FromMinutes(1));
        var dead = await SessionAsync("dead-runner");
        Assert.Equal("false", (string?)dead["status"]!["session"]!["succeeded"]);
        Assert.Null(dead["runner"]);
        var log = await File.ReadAllTextAsync(server.Services.GetRequiredService<SessionLogs>().PathOf("dead-runner"));
        Assert.Contains("runner gone-host stopped (its lease expired at", log);
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
