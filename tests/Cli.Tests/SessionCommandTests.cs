namespace Cray.Cli.Tests;

/// <summary><c>cray cfs v3 sessions release</c>: ours, where the reference needs kubectl exec and touch /tmp/complete.</summary>
public sealed class SessionCommandTests : RecordedCommandTests
{
    [Fact]
    public async Task ReleasePostsToTheSessionsReleaseRoute()
    {
        var result = await Cray.RunAsync("cfs", "v3", "sessions", "release", "example");
        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/apis/cfs/v3/sessions/example/release", request.Path);
        Assert.Null(request.Body);
    }

    [Theory]
    [InlineData("cfs v2 sessions release example")]
    [InlineData("cfs sessions release example")]
    public async Task TheV2SessionsHaveNoReleaseSinceV2HasNoDebugOnFailure(string command)
    {
        var result = await Cray.RunAsync(command.Split(' '));
        Assert.Equal(2, result.ExitCode);
        Assert.Empty(Server.Requests);
    }
}
