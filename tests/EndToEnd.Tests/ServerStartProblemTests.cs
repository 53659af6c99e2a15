using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>A server that cannot work as told says so in one line at start, and does not start.</summary>
public sealed class ServerStartProblemTests : IDisposable
{
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("start-problem-").FullName;

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);

    private async Task<ProcessResult> StartAsync(IReadOnlyDictionary<string, string?> environment, params string[] flags)
        => await ProcessRunner.Instance.RunAsync(new ProcessRequest("dotnet",
            [CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"), "--listen", $"127.0.0.1:{CrayEnvironment.FreePort()}", "--data-dir", dataDirectory,
                "--roles", "api", .. flags])
        {
            Environment = environment,
            Timeout = TimeSpan.FromMinutes(2),
        });

    [Fact]
    public async Task AnS3EndpointThatCannotBeReachedStopsTheStartWithItsReasonAndNoSecret()
    {
        var port = CrayEnvironment.FreePort();
        var result = await StartAsync(new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = "start-test-access",
            ["AWS_SECRET_ACCESS_KEY"] = "start-test-secret-never-shown",
        }, "--artifacts", "s3", "--s3-endpoint", $"http://127.0.0.1:{port}");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cray-server: cannot open the artifact repository (S3 at http://127.0.0.1:{port} (us-east-1, credentials from AWS_ACCESS_KEY_ID))", result.Output);
        Assert.DoesNotContain("start-test-secret-never-shown", result.Output);
        Assert.False(Directory.Exists(Path.Combine(dataDirectory, "artifacts")));
    }

    [Theory]
    [InlineData(new[] { "--worker-name", "two words" }, "--worker-name: 'two words' is not 1 to 63 letters, digits, '-', '.' or '_'.")]
    [InlineData(new[] { "--artifacts", "s3" }, "--artifacts s3 needs --s3-endpoint URL")]
    [InlineData(new[] { "--ims-worker-arch", "x86_64,sparc" }, "--ims-worker-arch: 'x86_64,sparc' is not a comma list of aarch64, x86_64.")]
    [InlineData(new[] { "--s3-endpoint", "http://rgw:7480" }, "--s3-endpoint only applies with --artifacts s3.")]
    [InlineData(new[] { "--ims-pack", "fast" }, "--ims-pack: 'fast' is not incremental or full.")]
    public async Task FlagsThatCannotWorkAreRefusedBeforeAnythingStarts(string[] flags, string expected)
    {
        var result = await StartAsync(new Dictionary<string, string?> { ["AWS_ENDPOINT_URL"] = null, ["AWS_ENDPOINT_URL_S3"] = null }, flags);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cray-server: " + expected, result.Output);
    }

    [Fact]
    public async Task AKeyRingSecretThatDoesNotOpenTheStoresKeysStopsTheStartNamingWhereItCameFrom()
    {
        // A key the first server sealed with its secret (a SQLite store has no connection to close).
        new Cray.Platform.KeyRing.RecordStoreXmlRepository(new Cray.Platform.Storage.SqliteRecordStore(Path.Combine(dataDirectory, "cray.db")),
                Cray.Platform.KeyRing.KeyRingSecret.FromText("the-first-servers-secret-of-32-characters-or-more", "test"))
            .StoreElement(new System.Xml.Linq.XElement("key", new System.Xml.Linq.XAttribute("id", "1")), "key-1");
        var secretFile = Path.Combine(dataDirectory, "another.secret");
        await File.WriteAllTextAsync(secretFile, "another-secret-than-the-first-of-32-characters\n");

        var result = await StartAsync(new Dictionary<string, string?>(), "--key-ring-secret-file", secretFile);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"the key ring in the record store does not open with the key-ring secret from --key-ring-secret-file {secretFile} (key key-1)", result.Output);
        Assert.DoesNotContain("another-secret-than-the-first", result.Output);
    }
}
