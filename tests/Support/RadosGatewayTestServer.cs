using Cray.Processes;

namespace Cray.Tests.Support;

/// <summary>
/// A private Ceph cluster (one monitor, one in-memory OSD) and its RADOS Gateway on loopback, as
/// scripts/rgw.sh starts it: real S3, with ports and a state directory of its own so that test
/// assemblies running side by side each have theirs. Purged when the tests are done.
/// </summary>
public sealed class RadosGatewayTestServer : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private readonly string stateDirectory = Path.Combine("/tmp", "rgw-test-" + Guid.NewGuid().ToString("n")[..12]);
    private IReadOnlyDictionary<string, string> exports = new Dictionary<string, string>();

    // Chosen up front: a server's flags name the endpoint before the gateway is started.
    private readonly int port = FreeTcpPort.Find();

    public Uri Endpoint => new($"http://127.0.0.1:{port}");

    public string AccessKey => exports["AWS_ACCESS_KEY_ID"];

    public string SecretKey => exports["AWS_SECRET_ACCESS_KEY"];

    private static string Script => Path.Combine(RepositoryRoot(), "scripts", "rgw.sh");

    public async Task InitializeAsync()
    {
        // The OSD takes ports from a window of its own; a random one keeps two clusters apart.
        var osdPortMinimum = Random.Shared.Next(200, 320) * 100;
        var environment = new Dictionary<string, string?>
        {
            ["CEPH_DIR"] = stateDirectory,
            ["OSD_STORE"] = "memstore",
            ["RGW_PORT"] = port.ToString(),
            ["MON_PORT"] = FreeTcpPort.Find().ToString(),
            ["MON_V2_PORT"] = FreeTcpPort.Find().ToString(),
            ["OSD_PORT_MIN"] = osdPortMinimum.ToString(),
            ["OSD_PORT_MAX"] = (osdPortMinimum + 99).ToString(),
        };
        var started = await ProcessRunner.Instance.RunAsync(new ProcessRequest(Script, ["start"]) { Environment = environment, Timeout = StartTimeout });
        if (!started.Succeeded)
        {
            throw new InvalidOperationException($"scripts/rgw.sh start failed ({started.ExitCode}):\n{started.Output}");
        }
        exports = ShellExports.Parse(started.Output);
    }

    public async Task DisposeAsync()
        => await ProcessRunner.Instance.RunAsync(new ProcessRequest(Script, ["purge"])
        {
            Environment = new Dictionary<string, string?> { ["CEPH_DIR"] = stateDirectory },
            Timeout = TimeSpan.FromMinutes(1),
        });

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "scripts", "rgw.sh")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("scripts/rgw.sh was not found above " + AppContext.BaseDirectory);
    }
}
