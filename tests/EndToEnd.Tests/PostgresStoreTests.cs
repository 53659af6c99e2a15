using System.Text.Json.Nodes;
using Cray.Processes;
using Cray.Tests.Support;

namespace Cray.EndToEnd.Tests;

/// <summary>cray-server on PostgreSQL (--store postgresql://…): records survive a restart there, and nothing is kept in SQLite.</summary>
public sealed class PostgresStoreTests : IClassFixture<PostgresTestServer>, IAsyncLifetime
{
    private readonly PostgresTestServer postgres;
    private CrayEnvironment? cray;

    public PostgresStoreTests(PostgresTestServer postgres) => this.postgres = postgres;

    private CrayEnvironment Cray => cray!;

    /// <summary>A cray-server of its own on loopback at <paramref name="port"/>, with these flags.</summary>
    private static ProcessRequest Server(string dataDirectory, int port, params string[] flags)
        => new("dotnet", [CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"), "--listen", $"127.0.0.1:{port}", "--data-dir", dataDirectory, .. flags])
        {
            Timeout = TimeSpan.FromMinutes(2),
        };

    public async Task InitializeAsync()
    {
        cray = new CrayEnvironment { ExtraServerArguments = ["--roles", "api", "--store", await postgres.CreateDatabaseAddressAsync(), "--key-ring-secret-file", postgres.KeyRingSecretFile] };
        await cray.InitializeAsync();
    }

    public Task DisposeAsync() => Cray.DisposeAsync();

    [Fact]
    public async Task RecordsLiveInPostgresqlAndSurviveARestart()
    {
        var keyFile = Path.Combine(Cray.Root, "admin.pub");
        await File.WriteAllTextAsync(keyFile, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@example\n");
        var created = await Cray.CrayAsync("ims", "public-keys", "create", "--name", "admin", "--public-key", keyFile, "--format", "json");
        Assert.True(created.ExitCode == 0, created.Error);
        var id = (string)JsonNode.Parse(created.Output)!["id"]!;
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "v3", "options", "update", "--default-page-size", "50")).ExitCode);

        Cray.CrashServer();
        await Cray.StartServerAsync();

        var key = JsonNode.Parse((await Cray.CrayAsync("ims", "public-keys", "describe", id, "--format", "json")).Output)!;
        Assert.Equal("admin", (string?)key["name"]);
        var options = JsonNode.Parse((await Cray.CrayAsync("cfs", "v3", "options", "list", "--format", "json")).Output)!;
        Assert.Equal(50, (int)options["default_page_size"]!);
        Assert.False(File.Exists(Path.Combine(Cray.DataDirectory, "cray.db")));
        Assert.Contains("records in PostgreSQL database", await File.ReadAllTextAsync(Path.Combine(Cray.Root, "server.log")));
    }

    [Fact]
    public async Task AStoreThatCannotBeReachedStopsTheStartWithItsReason()
    {
        var result = await ProcessRunner.Instance.RunAsync(Server(Cray.Root, CrayEnvironment.FreePort(),
            "--roles", "api", "--store", "postgresql://cray@localhost/none?host=/nonexistent-socket-directory", "--key-ring-secret-file", postgres.KeyRingSecretFile));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cray-server: cannot open the record store (PostgreSQL database none on /nonexistent-socket-directory as cray)", result.Output);
    }

    [Fact]
    public async Task AnAPIServerOnASharedStoreWithoutAKeyRingSecretDoesNotStartAndSaysWhy()
    {
        var result = await ProcessRunner.Instance.RunAsync(Server(Cray.Root, CrayEnvironment.FreePort(), "--roles", "api", "--store", await postgres.CreateDatabaseAddressAsync()) with
        {
            Environment = new Dictionary<string, string?> { ["CRAY_KEY_RING_SECRET"] = null },
        });
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cray-server: --key-ring-secret-file: servers sharing a PostgreSQL store need the same key-ring secret", result.Output);
    }

    [Fact]
    public async Task AnImsWorkerAloneOnASharedStoreNeedsNoKeyRingSecret()
    {
        var dataDirectory = Path.Combine(Cray.Root, "worker-only");
        var port = CrayEnvironment.FreePort();
        using var stop = new CancellationTokenSource();
        var request = Server(dataDirectory, port, "--roles", "ims-worker", "--worker-name", "worker-only", "--store", await postgres.CreateDatabaseAddressAsync()) with
        {
            Environment = new Dictionary<string, string?> { ["CRAY_KEY_RING_SECRET"] = null },
        };
        var server = ProcessRunner.Instance.RunAsync(request, stop.Token);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await AnswersAsync(http, $"http://127.0.0.1:{port}/healthz"))
        {
            Assert.False(server.IsCompleted, server.IsCompleted ? (await server).Output : "");
            Assert.True(DateTime.UtcNow < deadline, "the worker did not answer");
            await Task.Delay(200);
        }
        await stop.CancelAsync();
        try
        {
            await server;
        }
        catch (OperationCanceledException)
        {
            // Stopping it was the point.
        }
        Assert.False(File.Exists(Path.Combine(dataDirectory, "key-ring.secret")));
    }

    private static async Task<bool> AnswersAsync(HttpClient http, string url)
    {
        try
        {
            return (await http.GetAsync(url)).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
