using System.Text.Json.Nodes;

namespace Cray.Cli.Tests;

/// <summary><c>cray ims remote-build-nodes …</c>: the reference CLI's commands and the routes they call.</summary>
public sealed class RemoteBuildNodeCommandTests : RecordedCommandTests
{
    [Fact]
    public async Task CreateSendsTheXname()
    {
        var result = await Cray.RunAsync("ims", "remote-build-nodes", "create", "--xname", "x3000c0s1b0n0", "--format", "json");
        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/apis/ims/v3/remote-build-nodes", request.Path);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"xname":"x3000c0s1b0n0"}"""), request.Body), request.Body?.ToJsonString());
    }

    [Fact]
    public async Task CreateWithoutTheXnameIsAUsageErrorAndSendsNothing()
    {
        var result = await Cray.RunAsync("ims", "remote-build-nodes", "create");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Usage: cray ims remote-build-nodes create [OPTIONS]", result.Error);
        Assert.EndsWith("\n\nError: Missing option '--xname'.\n", result.Error);
        Assert.Empty(Server.Requests);
    }

    [Theory]
    [InlineData("ims remote-build-nodes list", "GET", "/apis/ims/v3/remote-build-nodes")]
    [InlineData("ims remote-build-nodes describe n0", "GET", "/apis/ims/v3/remote-build-nodes/n0")]
    [InlineData("ims remote-build-nodes delete n0", "DELETE", "/apis/ims/v3/remote-build-nodes/n0")]
    [InlineData("ims remote-build-nodes deleteall", "DELETE", "/apis/ims/v3/remote-build-nodes")]
    [InlineData("ims remote-build-nodes status list", "GET", "/apis/ims/v3/remote-build-nodes/status")]
    [InlineData("ims remote-build-nodes status describe n0", "GET", "/apis/ims/v3/remote-build-nodes/status/n0")]
    public Task CommandsWithoutABodyUseTheirRoute(string command, string method, string path)
        => AssertSendsNoBodyToAsync(command, method, path);
}
