namespace Cray.Artifacts.Tests;

public sealed class ArtifactStoreAddressTests
{
    private static string? NoEnvironment(string name) => null;

    [Fact]
    public void FilesInTheDataDirectoryAreTheDefault()
    {
        var address = ArtifactStoreAddress.Parse(new ArtifactStoreFlags(null), "/var/lib/cray-server", NoEnvironment);
        Assert.Equal("/var/lib/cray-server/artifacts", address.Directory);
        Assert.Null(address.S3);
        Assert.Equal(address.Directory, ArtifactStoreAddress.Parse(new ArtifactStoreFlags("files"), "/var/lib/cray-server", NoEnvironment).Directory);
    }

    [Fact]
    public void KeysComeFromFilesAndNeverShowInTheDescription()
    {
        var directory = Directory.CreateTempSubdirectory("s3-keys-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "access"), "AKIDEXAMPLE\n");
            File.WriteAllText(Path.Combine(directory, "secret"), "very-secret-key\n");
            var address = ArtifactStoreAddress.Parse(
                new ArtifactStoreFlags("s3", "https://rgw.example.com:8443", "default", Path.Combine(directory, "access"), Path.Combine(directory, "secret")),
                "/data", NoEnvironment);

            var s3 = address.S3!;
            Assert.Equal(new Uri("https://rgw.example.com:8443"), s3.Endpoint);
            Assert.Equal("default", s3.Region);
            var credentials = s3.Credentials!.GetCredentials();
            Assert.Equal("AKIDEXAMPLE", credentials.AccessKey);
            Assert.Equal("very-secret-key", credentials.SecretKey);
            Assert.DoesNotContain("very-secret-key", address.Description, StringComparison.Ordinal);
            Assert.Contains("https://rgw.example.com:8443", address.Description, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TheSdksEnvironmentVariablesAreUsedWhenNoFlagSaysOtherwise()
    {
        var environment = new Dictionary<string, string>
        {
            ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:7480",
            ["AWS_ACCESS_KEY_ID"] = "from-environment",
            ["AWS_SECRET_ACCESS_KEY"] = "secret",
            ["AWS_REGION"] = "default",
        };
        var s3 = ArtifactStoreAddress.Parse(new ArtifactStoreFlags("s3"), "/data", environment.GetValueOrDefault).S3!;
        Assert.Equal(new Uri("http://127.0.0.1:7480"), s3.Endpoint);
        Assert.Equal("default", s3.Region);
        Assert.Equal("from-environment", s3.Credentials!.GetCredentials().AccessKey);
    }

    [Theory]
    [InlineData("disk", null, null, "--artifacts: 'disk' is not files or s3.")]
    [InlineData("s3", null, null, "--artifacts s3 needs --s3-endpoint URL")]
    [InlineData("s3", "ftp://rgw:21", null, "--s3-endpoint: 'ftp://rgw:21' is not an http:// or https:// URL")]
    [InlineData("s3", "http://user:pass@rgw:7480", null, "no user")]
    [InlineData("s3", "http://rgw:7480/bucket", null, "no path")]
    [InlineData("s3", "http://rgw:7480", "/only/one", "--s3-access-key-file and --s3-secret-key-file go together.")]
    [InlineData(null, "http://rgw:7480", null, "--s3-endpoint only applies with --artifacts s3.")]
    public void MistakesNameTheFlag(string? kind, string? endpoint, string? accessKeyFile, string expected)
    {
        var failure = Assert.Throws<ArgumentException>(() => ArtifactStoreAddress.Parse(new ArtifactStoreFlags(kind, endpoint, null, accessKeyFile), "/data", NoEnvironment));
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnreadableKeyFileIsNamed()
    {
        var failure = Assert.Throws<ArgumentException>(() => ArtifactStoreAddress.Parse(
            new ArtifactStoreFlags("s3", "http://rgw:7480", null, "/no/such/access", "/no/such/secret"), "/data", NoEnvironment));
        Assert.StartsWith("--s3-access-key-file: cannot read /no/such/access", failure.Message, StringComparison.Ordinal);
    }
}
