using System.Globalization;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Cfs.Runner;
using Cray.Cfs.Sessions;
using Cray.Platform.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cray.Cfs.Tests;

public sealed class SessionTtlTests : IDisposable
{
    private readonly CfsTestServer server = new();

    public void Dispose() => server.Dispose();

    private async Task StoreAsync(string name, string status, TimeSpan age)
    {
        var started = DateTime.UtcNow.Subtract(age).ToString(SessionService.StartTimeFormat, CultureInfo.InvariantCulture);
        var session = new SessionRecord(new SessionAnsible("cfs-default-ansible-cfg", "", "", 0), new SessionConfiguration("c", ""), false, name,
            new SessionStatus([], new SessionProgress(null, null, "cfs-job", started, status, SessionResults.True)),
            new Dictionary<string, string>(), new SessionTarget("image", null, null));
        await server.Services.GetRequiredService<IRecordStore>().WriteAsync(RecordWrite.Insert(CfsCollections.Sessions, name, session));
    }

    private SessionTtlSweeper Sweeper() => new(
        server.Services.GetRequiredService<SessionService>(),
        server.Services.GetRequiredService<OptionsService>(),
        TimeProvider.System,
        NullLogger<SessionTtlSweeper>.Instance);

    [Fact]
    public async Task OnlyCompleteSessionsOlderThanTheTtlAreDeleted()
    {
        _ = server.CreateClient();
        await StoreAsync("old-complete", SessionStates.Complete, TimeSpan.FromDays(2));
        await StoreAsync("new-complete", SessionStates.Complete, TimeSpan.FromHours(1));
        await StoreAsync("old-running", SessionStates.Running, TimeSpan.FromDays(2));
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", """{"session_ttl":"1d"}""");

        Assert.Equal(["old-complete"], await Sweeper().SweepAsync(CancellationToken.None));
        var (_, list) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions");
        Assert.Equal(["new-complete", "old-running"], list!["sessions"]!.AsArray().Select(session => (string)session!["name"]!));
    }

    [Fact]
    public async Task AnEmptyTtlTurnsTheSweepOff()
    {
        _ = server.CreateClient();
        await StoreAsync("old-complete", SessionStates.Complete, TimeSpan.FromDays(30));
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", """{"session_ttl":""}""");
        Assert.Empty(await Sweeper().SweepAsync(CancellationToken.None));
    }
}
