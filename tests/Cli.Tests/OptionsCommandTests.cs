using System.Text.Json.Nodes;

namespace Cray.Cli.Tests;

/// <summary><c>cray cfs [v2|v3] options update</c>: our two time limits go in each version's spelling, and are asked back.</summary>
public sealed class OptionsCommandTests : RecordedCommandTests
{
    [Theory]
    [InlineData("v3", "/apis/cfs/v3/options?extensions=true", """{"image_wait_timeout":"2h","session_timeout":"1m"}""")]
    [InlineData("v2", "/apis/cfs/v2/options?extensions=true", """{"imageWaitTimeout":"2h","sessionTimeout":"1m"}""")]
    public async Task UpdateSendsTheTimeLimitsInTheVersionsSpelling(string version, string path, string body)
    {
        var result = await Cray.RunAsync("cfs", version, "options", "update", "--session-timeout", "1m", "--image-wait-timeout", "2h");
        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("PATCH", request.Method);
        Assert.Equal(path, request.Path);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(body), request.Body), request.Body?.ToJsonString());
    }
}
