using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Cray.Processes;
using Cray.Tests.Support;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// A server with every role on the stores a site already runs: records in PostgreSQL and artifacts
/// in Ceph's RADOS Gateway (private servers the fixture starts), the S3 keys given in files.
/// </summary>
public sealed class SiteStoresJobEnvironment : JobEnvironment
{
    // Run before the base constructor reads ServerArguments.
    private readonly PostgresTestServer postgres = new();
    private readonly string keyDirectory = Directory.CreateTempSubdirectory("s3-keys-").FullName;

    public RadosGatewayTestServer Gateway { get; } = new();

    /// <summary>A second server on the same stores with the API role only, as on another machine (its own data directory).</summary>
    public CrayEnvironment OtherApi { get; private set; } = null!;

    private string AccessKeyFile => Path.Combine(keyDirectory, "access-key");

    private string SecretKeyFile => Path.Combine(keyDirectory, "secret-key");

    protected override string[] ServerArguments =>
    [
        "--store", postgres.DefaultDatabaseAddress, "--key-ring-secret-file", postgres.KeyRingSecretFile,
        "--artifacts", "s3", "--s3-endpoint", Gateway.Endpoint.ToString(),
        "--s3-access-key-file", AccessKeyFile, "--s3-secret-key-file", SecretKeyFile,
    ];

    public override async Task InitializeAsync()
    {
        await Task.WhenAll(postgres.InitializeAsync(), Gateway.InitializeAsync());
        await File.WriteAllTextAsync(AccessKeyFile, Gateway.AccessKey + "\n");
        await File.WriteAllTextAsync(SecretKeyFile, Gateway.SecretKey + "\n");
        File.SetUnixFileMode(SecretKeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await base.InitializeAsync();
        OtherApi = new CrayEnvironment { ExtraServerArguments = [.. ServerArguments, "--roles", "api", "--worker-name", "other-api"] };
        await OtherApi.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await OtherApi.DisposeAsync();
        await base.DisposeAsync();
        await Task.WhenAll(postgres.DisposeAsync(), Gateway.DisposeAsync());
        Directory.Delete(keyDirectory, recursive: true);
    }

    public AmazonS3Client S3Client() => new(new BasicAWSCredentials(Gateway.AccessKey, Gateway.SecretKey), new AmazonS3Config
    {
        ServiceURL = Gateway.Endpoint.ToString(),
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });
}

/// <summary>The seed on PostgreSQL and S3: claims, updates and waits go through the database, every image byte through the gateway.</summary>
public sealed class SiteStoresSeedTests(SiteStoresJobEnvironment environment) : IClassFixture<SiteStoresJobEnvironment>
{
    [Fact]
    public async Task TheSeedWorksWithRecordsInPostgresqlAndArtifactsInS3()
    {
        var resultId = await SeedScenario.RunAsync(environment);

        Assert.False(File.Exists(Path.Combine(environment.Cray.DataDirectory, "cray.db")));
        Assert.False(Directory.Exists(Path.Combine(environment.Cray.DataDirectory, "artifacts")));

        // The new image read back from the gateway itself, not through the server.
        using var s3 = environment.S3Client();
        using var manifestObject = await s3.GetObjectAsync("boot-images", $"{resultId}/manifest.json");
        var manifest = (await JsonNode.ParseAsync(manifestObject.ResponseStream))!;
        var rootfsEntry = manifest["artifacts"]!.AsArray().Single(entry => ((string)entry!["type"]!).Contains("rootfs", StringComparison.Ordinal))!;
        Assert.Equal($"s3://boot-images/{resultId}/rootfs", (string?)rootfsEntry["link"]!["path"]);

        var rootfs = Path.Combine(environment.Cray.Root, "result-from-s3.squashfs");
        using (var rootfsObject = await s3.GetObjectAsync("boot-images", $"{resultId}/rootfs"))
        {
            await using var file = File.Create(rootfs);
            await rootfsObject.ResponseStream.CopyToAsync(file);
            Assert.Equal((string)rootfsEntry["md5"]!, rootfsObject.Metadata["md5sum"]);
        }
        await using (var file = File.OpenRead(rootfs))
        {
            Assert.Equal((string)rootfsEntry["md5"]!, Convert.ToHexStringLower(await MD5.HashDataAsync(file)));
        }
        var marker = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, "etc/cray-cfs-example"]));
        Assert.Equal("customized by a CFS image session", marker.Output.Trim());
        Assert.Empty((await s3.ListMultipartUploadsAsync("boot-images")).MultipartUploads ?? []);

        // Created through one API server, read through the other: records, artifacts and logs are shared.
        var other = environment.OtherApi;
        var session = await SeedScenario.DescribeAsync(other, "example");
        Assert.Equal(resultId, (string?)session["status"]!["artifacts"]![0]!["result_id"]);
        var log = (await other.CrayAsync("cfs", "sessions", "logs", "example")).Output;
        Assert.Contains("Phase packaging images finished in", log);
        Assert.Contains("changed=5", log);
        var jobs = await SeedScenario.ListAsync(other, "ims", "jobs", "list");
        var jobLog = (await other.CrayAsync("ims", "jobs", "logs", (string)jobs[0]!["id"]!)).Output;
        Assert.Contains("Claimed by worker", jobLog);
        Assert.Contains("Success: image", jobLog);
        Assert.False(Directory.Exists(Path.Combine(other.DataDirectory, "cfs", "logs")) && Directory.EnumerateFiles(Path.Combine(other.DataDirectory, "cfs", "logs")).Any());
    }

    [Fact]
    public async Task SourceCredentialsStoredThroughOneServerAreReadByAnotherSharingTheKeyRingSecret()
    {
        await SeedScenario.StoreConfigurationAsync(environment.Cray, "sourced", "site.yml");
        var repository = Path.Combine(environment.Cray.Root, "layer-sourced");
        var head = (await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("git", ["-C", repository, "rev-parse", "HEAD"]))).Output.Trim();
        var created = await environment.OtherApi.CrayAsync("cfs", "v3", "sources", "create", "--name", "site-vcs", "--clone-url", repository,
            "--credentials-username", "admin", "--credentials-password", "hunter2");
        Assert.True(created.ExitCode == 0, created.Error);

        // The other server resolves the source layer's branch with the credentials it decrypts.
        var file = Path.Combine(environment.Cray.Root, "sourced-layer.json");
        await File.WriteAllTextAsync(file, """{"layers":[{"name":"sourced","source":"site-vcs","branch":"main","playbook":"site.yml"}]}""");
        var update = await environment.Cray.CrayAsync("cfs", "v3", "configurations", "update", "from-source", "--file", file, "--format", "json");
        Assert.True(update.ExitCode == 0, update.Error);
        Assert.Equal(head, (string?)JsonNode.Parse(update.Output)!["layers"]![0]!["commit"]);
        Assert.DoesNotContain("hunter2", await File.ReadAllTextAsync(Path.Combine(environment.Cray.Root, "server.log")));
    }
}
