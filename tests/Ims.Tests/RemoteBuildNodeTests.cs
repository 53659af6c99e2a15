using Cray.Ims.RemoteBuildNodes;
using Cray.Platform.Storage;
using Cray.Platform.Work;
using Cray.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Cray.Ims.Tests;

/// <summary>/v3/remote-build-nodes: the reference's registrations, with status read from the workers' heartbeats.</summary>
public sealed class RemoteBuildNodeTests : IDisposable
{
    private const string Nodes = "/apis/ims/v3/remote-build-nodes";
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private readonly ImsTestServer api;
    private ImsTestServer? worker;

    public RemoteBuildNodeTests() => api = new ImsTestServer { Clock = clock };

    public void Dispose()
    {
        worker?.Dispose();
        api.Dispose();
    }

    private IRecordStore Store => api.Services.GetRequiredService<IRecordStore>();

    [Fact]
    public async Task NodesAreRegisteredListedDescribedAndDeletedAsTheReferenceAnswers()
    {
        Assert.Equal("[]", (await api.SendAsync(HttpMethod.Get, Nodes)).Body!.ToJsonString());
        var (status, created, _) = await api.SendAsync(HttpMethod.Post, Nodes, """{"xname":"x3000c0s1b0n0"}""");
        Assert.Equal(201, status);
        Assert.Equal("""{"xname":"x3000c0s1b0n0"}""", created!.ToJsonString());
        // A second registration of the same node answers as the first (the reference upserts).
        Assert.Equal(201, (await api.SendAsync(HttpMethod.Post, Nodes, """{"xname":"x3000c0s1b0n0"}""")).Status);
        Assert.Equal(201, (await api.SendAsync(HttpMethod.Post, Nodes, """{"xname":"build-2"}""")).Status);
        Assert.Equal("""[{"xname":"x3000c0s1b0n0"},{"xname":"build-2"}]""", (await api.SendAsync(HttpMethod.Get, Nodes)).Body!.ToJsonString());
        Assert.Equal("""{"xname":"build-2"}""", (await api.SendAsync(HttpMethod.Get, $"{Nodes}/build-2")).Body!.ToJsonString());

        Assert.Equal(204, (await api.SendAsync(HttpMethod.Delete, $"{Nodes}/build-2")).Status);
        var (missing, problem, type) = await api.SendAsync(HttpMethod.Get, $"{Nodes}/build-2");
        Assert.Equal(404, missing);
        Assert.Equal("application/problem+json", type);
        Assert.Equal(404, (await api.SendAsync(HttpMethod.Delete, $"{Nodes}/build-2")).Status);
        Assert.NotNull(problem!["detail"]);

        Assert.Equal(204, (await api.SendAsync(HttpMethod.Delete, Nodes)).Status);
        Assert.Equal("[]", (await api.SendAsync(HttpMethod.Get, Nodes)).Body!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"xname":null}""", "xname")]
    [InlineData("""{"name":"n0"}""", "xname")]
    [InlineData("""{"xname":""}""", "xname")]
    [InlineData("""{"xname":"../etc"}""", "xname")]
    [InlineData("""{"xname":"a b"}""", "xname")]
    [InlineData("""{"xname":"n0","arch":"x86_64"}""", "arch")]
    public async Task ABadRegistrationIsA422NamingTheFieldAndStoresNothing(string body, string field)
    {
        var (status, problem, type) = await api.SendAsync(HttpMethod.Post, Nodes, body);
        Assert.Equal(422, status);
        Assert.Equal("application/problem+json", type);
        Assert.NotNull(problem!["errors"]![field]);
        Assert.Equal("[]", (await api.SendAsync(HttpMethod.Get, Nodes)).Body!.ToJsonString());
    }

    [Fact]
    public async Task StatusComesFromTheWorkersHeartbeatAndSaysWhenNoWorkerIsLive()
    {
        Assert.Equal(201, (await api.SendAsync(HttpMethod.Post, Nodes, """{"xname":"never-started"}""")).Status);
        Assert.Equal(404, (await api.SendAsync(HttpMethod.Get, $"{Nodes}/status/nobody")).Status);

        worker = new ImsTestServer
        {
            DataDirectory = api.DataDirectory,
            Worker = (clock, "build-1"),
            Settings = new Dictionary<string, string> { ["ims-worker-arch"] = "x86_64,aarch64", ["ims-worker-slots"] = "3" },
        };
        _ = worker.Services;
        await clock.AdvanceUntilAsync(async () => await Store.GetAsync<WorkerHeartbeat>(WorkerHeartbeat.Collection, "build-1") is not null, TimeSpan.FromSeconds(30));

        // The unregistered live worker is listed after the registered node.
        var list = (await api.SendAsync(HttpMethod.Get, $"{Nodes}/status")).Body!.AsArray();
        Assert.Equal(["never-started", "build-1"], list.Select(node => (string)node!["xname"]!));
        var neverStarted = list[0]!;
        Assert.Equal(-1, (int)neverStarted["numCurrentJobs"]!);
        Assert.False((bool)neverStarted["ableToRunJobs"]!);
        Assert.Equal("unknown", (string)neverStarted["nodeArch"]!);
        Assert.Contains("No ims-worker named never-started", (string)neverStarted["sshStatus"]!);

        var live = (await worker.SendAsync(HttpMethod.Get, $"{Nodes}/status/build-1")).Body!;
        Assert.Equal("x86_64,aarch64", (string)live["nodeArch"]!);
        Assert.Equal(0, (int)live["numCurrentJobs"]!);
        Assert.True((bool)live["ableToRunJobs"]!);
        Assert.StartsWith("Live: the ims-worker reported", (string)live["sshStatus"]!);
        Assert.Equal(RemoteBuildNodeService.PodmanNotUsed, (string)live["podmanStatus"]!);

        // The worker stops: its heartbeat says so at once, and the status follows.
        worker.Dispose();
        worker = null;
        var gone = (await api.SendAsync(HttpMethod.Get, $"{Nodes}/status/build-1")).Body!;
        Assert.Equal(-1, (int)gone["numCurrentJobs"]!);
        Assert.False((bool)gone["ableToRunJobs"]!);
        Assert.StartsWith("Not live: the ims-worker was last seen at", (string)gone["sshStatus"]!);
        Assert.DoesNotContain("build-1", (await api.SendAsync(HttpMethod.Get, $"{Nodes}/status")).Body!.ToJsonString());
    }

    [Fact]
    public async Task AWorkerNameALiveWorkerUsesIsRefusedUnlessThatWorkerIsThisMachinesEndedProcess()
    {
        var now = DateTimeOffset.UtcNow;
        WorkerHeartbeat Heartbeat(ProcessIdentity process, DateTimeOffset expires)
            => new("build-1", process, ["x86_64"], 2, 0, now, now, expires);
        async Task<string?> ProblemWith(WorkerHeartbeat heartbeat)
        {
            await Store.WriteAsync(RecordWrite.Upsert(WorkerHeartbeat.Collection, "build-1", heartbeat));
            return await WorkerHeartbeat.NamesakeProblemAsync(Store, "build-1", now, CancellationToken.None);
        }
        var self = ProcessIdentity.Current();
        using var other = System.Diagnostics.Process.Start("sleep", "30");
        try
        {
            var otherHere = ProcessIdentity.Current() with { ProcessId = other.Id, StartTicks = 0 };
            Assert.Null(await WorkerHeartbeat.NamesakeProblemAsync(Store, "build-1", now, CancellationToken.None));
            Assert.Null(await ProblemWith(Heartbeat(self, now.AddMinutes(1))));
            // This machine's earlier run, killed: its process is gone (a pid reused since has another start time).
            Assert.Null(await ProblemWith(Heartbeat(otherHere, now.AddMinutes(1))));
            Assert.Null(await ProblemWith(Heartbeat(self with { BootId = "another-machine" }, now.AddSeconds(-1))));
            var elsewhere = await ProblemWith(Heartbeat(self with { BootId = "another-machine" }, now.AddMinutes(1)));
            Assert.StartsWith("another ims-worker named build-1 is live (on another machine, last seen", elsewhere);
            Assert.Contains("give this server its own --worker-name", elsewhere);
            Assert.StartsWith($"another ims-worker named build-1 is live (process {other.Id} on this machine",
                await ProblemWith(Heartbeat(ProcessIdentity.Of(other.Id)!, now.AddMinutes(1))));
        }
        finally
        {
            other.Kill();
        }
    }

}
