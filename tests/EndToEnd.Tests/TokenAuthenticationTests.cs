using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// A server as it would face a network: on every address (0.0.0.0), HTTPS with its own certificate,
/// --auth token. The admin makes a token on the server host and logs in with it.
/// </summary>
public sealed class TokenAuthenticationEnvironment : JobEnvironment
{
    // Runs before the base constructor reads ServerArguments.
    private readonly string certificateDirectory = CreateCertificate();

    protected override string[] ServerArguments =>
        ["--auth", "token", "--tls-certificate", Path.Combine(certificateDirectory, "server.crt"), "--tls-key", Path.Combine(certificateDirectory, "server.key")];

    protected override string ListenHost => "0.0.0.0";

    protected override string Scheme => "https";

    /// <summary>A self-signed certificate and its key as PEM files in a private directory.</summary>
    private static string CreateCertificate()
    {
        var directory = Path.Combine(CrayEnvironment.TestsDirectory, "tls-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=cray-server-test", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(directory, "server.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server.key"), key.ExportPkcs8PrivateKeyPem());
        return directory;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(certificateDirectory, recursive: true);
    }

    public string Token { get; private set; } = "";

    public static Task<ProcessResult> ServerCommandAsync(params string[] arguments)
        => ProcessRunner.Instance.RunAsync(new ProcessRequest("dotnet", [CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"), .. arguments]));

    protected override async Task AfterServerStartAsync()
    {
        var created = await ServerCommandAsync("tokens", "create", "admin", "--data-dir", Cray.DataDirectory);
        Assert.True(created.Succeeded, created.Output);
        // The JSON line is on stdout; the advice to keep it secret is on stderr, which the runner merges.
        Token = (string)JsonNode.Parse(created.Output.Split('\n').First(line => line.StartsWith('{')))!["access_token"]!;
        var login = await Cray.CrayAsync("auth", "login", "--username", "admin", "--password", Token);
        Assert.True(login.ExitCode == 0, login.Error);
        Assert.Equal("Success!\n", login.Output);
    }
}

public sealed class TokenAuthenticationTests(TokenAuthenticationEnvironment environment) : IClassFixture<TokenAuthenticationEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    [Fact]
    public async Task TheSeedRunsOverHttpsWithTokensAndTheRunnerReachesImsWithItsOwnTokenAndCertificate()
    {
        var repository = Path.Combine(Cray.Root, "layer");
        Directory.CreateDirectory(repository);
        File.Copy(Path.Combine(CrayEnvironment.RepositoryRoot, "examples", "ansible-example", "site.yml"), Path.Combine(repository, "site.yml"));
        await GitRepositories.CommitAllAsync(repository);
        var file = Path.Combine(Cray.Root, "configuration.json");
        await File.WriteAllTextAsync(file, $$$"""{"layers":[{"name":"example","clone_url":"{{{repository}}}","branch":"main","playbook":"site.yml"}]}""");
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "v3", "configurations", "update", "configurations-example", "--file", file)).ExitCode);

        var session = await Cray.CrayAsync("cfs", "v3", "sessions", "create", "--name", "example", "--configuration-name", "configurations-example",
            "--target-definition", "image", "--target-group", "Compute", environment.BaseImageId, "--wait", "--format", "json");
        Assert.True(session.ExitCode == 0, session.Error + (await Cray.CrayAsync("cfs", "sessions", "logs", "example")).Output);
        Assert.Equal("ims_customized_image", (string?)JsonNode.Parse(session.Output)!["status"]!["artifacts"]![0]!["type"]);
    }

    [Fact]
    public async Task WithoutATokenTheCliGetsTheServersUnauthorizedProblem()
    {
        var elsewhere = Path.Combine(Cray.Root, "config-without-token");
        Assert.Equal(0, (await CrayEnvironment.CrayWithConfigAsync(elsewhere, "init", "--hostname", Cray.Hostname, "--no-auth")).ExitCode);
        var refused = await CrayEnvironment.CrayWithConfigAsync(elsewhere, "ims", "images", "list");
        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith("Usage: cray ims images list [OPTIONS]\nTry 'cray ims images list -h' for help.\n\nError: Unauthorized: This server requires a bearer token", refused.Error);

        var wrong = await CrayEnvironment.CrayWithConfigAsync(elsewhere, "auth", "login", "--username", "admin", "--password", "cray_not-a-token");
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("Error: Invalid Credentials", wrong.Error);

        var tokenFile = Path.Combine(Cray.Root, "admin-token.json");
        await File.WriteAllTextAsync(tokenFile, new JsonObject { ["access_token"] = environment.Token }.ToJsonString());
        Assert.Equal(0, (await CrayEnvironment.CrayWithConfigAsync(elsewhere, "ims", "images", "list", "--token", tokenFile)).ExitCode);

        // A token never goes to a non-loopback host over plain http; nothing is sent (this address answers nothing).
        Assert.Equal(0, (await CrayEnvironment.CrayWithConfigAsync(elsewhere, "config", "set", "core", "hostname=http://192.0.2.2:1")).ExitCode);
        var plain = await CrayEnvironment.CrayWithConfigAsync(elsewhere, "auth", "login", "--username", "admin", "--password", environment.Token);
        Assert.Equal(2, plain.ExitCode);
        Assert.Contains("Error: You've configured your cray hostname with http. Please reconfigure for https.", plain.Error);

        var typo = await TokenAuthenticationEnvironment.ServerCommandAsync("tokens", "create", "x", "--data-dir", Path.Combine(Cray.Root, "no-such-data"));
        Assert.False(typo.Succeeded);
        Assert.Contains("no database at", typo.Output);

        var listed = await TokenAuthenticationEnvironment.ServerCommandAsync("tokens", "list", "--data-dir", Cray.DataDirectory);
        Assert.StartsWith("admin\tcreated ", listed.Output);
        Assert.DoesNotContain(environment.Token, listed.Output);
    }
}
