using System.Text.Json.Nodes;
using Cray.Cfs.Runner;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Cray.Cfs.Tests;

/// <summary>
/// The session_timeout option, through the real runner and IMS API in-process: the clock is
/// injected, so the minutes a session runs pass at once.
/// </summary>
public sealed class SessionTimeoutTests : IDisposable
{
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private readonly CfsTestServer server;

    public SessionTimeoutTests() => server = new CfsTestServer { RunnerClock = clock };

    public void Dispose() => server.Dispose();

    [Fact]
    public async Task ASessionThatRunsLongerThanSessionTimeoutIsStoppedAndFails()
    {
        await server.PutConfigurationAsync();
        var (status, _) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", """{"session_timeout":"10m"}""");
        Assert.Equal(200, status);
        // An image IMS does not know: the session waits for it (image_wait_timeout is an hour by default).
        (status, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", $$$"""
            {"name":"too-long","configuration_name":"configurations-example",
             "target":{"definition":"image","groups":[{"name":"Compute","members":["{{{Guid.NewGuid()}}}"]}]}}
            """);
        Assert.Equal(201, status);

        var started = clock.GetUtcNow();
        JsonNode? session = null;
        for (var step = 0; step < 2_000; step++)
        {
            (_, session) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions/too-long");
            if ((string?)session!["status"]!["session"]!["status"] == "complete")
            {
                break;
            }
            clock.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(2);
        }
        var ran = clock.GetUtcNow() - started;

        Assert.Equal("complete", (string?)session!["status"]!["session"]!["status"]);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.InRange(ran, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30));
        var log = await File.ReadAllTextAsync(server.Services.GetRequiredService<SessionLogs>().PathOf("too-long"));
        Assert.Contains("Waiting for image", log);
        Assert.Contains("Failed: The session ran longer than the session_timeout option allows and was stopped.", log);
    }
}
