using Cray.Processes;

namespace Cray.EndToEnd.Tests;

public sealed class ServerStartTests
{
    [Theory]
    [InlineData("0.0.0.0:8280")]
    [InlineData("10.1.2.3:8280", "--auth", "token")]
    public async Task NonLoopbackListenIsRefusedWithoutTlsAndTokens(string listen, params string[] extra)
    {
        var result = await ProcessRunner.Instance.RunAsync(new ProcessRequest("dotnet",
            [CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"), "--listen", listen, "--data-dir", Path.GetTempPath(), .. extra]));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("a non-loopback address needs --tls-certificate and --tls-key, and --auth token", result.Output);
    }

    [Fact]
    public async Task ACertificateWithoutItsKeyIsRefused()
    {
        var result = await ProcessRunner.Instance.RunAsync(new ProcessRequest("dotnet",
            [CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"), "--data-dir", Path.GetTempPath(), "--tls-certificate", "/etc/hostname"]));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--tls-certificate and --tls-key go together", result.Output);
    }
}
