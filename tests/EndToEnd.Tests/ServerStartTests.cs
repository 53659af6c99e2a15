using Cray.Platform.Processes;

namespace Cray.EndToEnd.Tests;

public sealed class ServerStartTests
{
    [Theory]
    [InlineData("0.0.0.0:8280")]
    [InlineData("10.1.2.3:8280")]
    public async Task NonLoopbackListenIsRefusedBecauseAuthenticationIsNotConfigured(string listen)
    {
        var result = await ProcessRunner.Instance.RunAsync(new ProcessRequest("dotnet",
            [CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"), "--listen", listen, "--data-dir", Path.GetTempPath()]));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("authentication is not configured", result.Output);
    }
}
