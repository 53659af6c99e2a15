namespace Cray.Cli.Tests;

/// <summary>Required options: named missing in the reference's order, and satisfied from the environment as click allows.</summary>
public sealed class RequiredOptionTests : RecordedCommandTests
{
    // The reference's generated commands declare options in reverse of the request schema's property
    // order, and click names the first missing one in declaration order.
    [Theory]
    [InlineData(new[] { "ims", "jobs", "create" }, "--public-key-id")]
    [InlineData(new[] { "ims", "jobs", "create", "--public-key-id", "k" }, "--artifact-id")]
    [InlineData(new[] { "ims", "jobs", "create", "--public-key-id", "k", "--artifact-id", "a" }, "--image-root-archive-name")]
    [InlineData(new[] { "ims", "jobs", "create", "--public-key-id", "k", "--artifact-id", "a", "--image-root-archive-name", "n" }, "--job-type")]
    [InlineData(new[] { "ims", "recipes", "create" }, "--name")]
    [InlineData(new[] { "ims", "recipes", "create", "--name", "n" }, "--linux-distribution")]
    [InlineData(new[] { "ims", "public-keys", "create" }, "--public-key")]
    [InlineData(new[] { "cfs", "sessions", "create" }, "--configuration-name")]
    [InlineData(new[] { "cfs", "v3", "sessions", "create", "--configuration-name", "c" }, "--name")]
    [InlineData(new[] { "cfs", "v3", "sources", "create" }, "--credentials-password")]
    [InlineData(new[] { "cfs", "v3", "sources", "create", "--credentials-password", "p" }, "--credentials-username")]
    [InlineData(new[] { "cfs", "v3", "sources", "create", "--credentials-password", "p", "--credentials-username", "u" }, "--clone-url")]
    public async Task TheMissingOptionNamedIsTheOneTheReferenceNames(string[] arguments, string expected)
    {
        var result = await Cray.RunAsync(arguments);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"Usage: cray {string.Join(' ', arguments.TakeWhile(word => !word.StartsWith('-')))} [OPTIONS]", result.Error);
        Assert.EndsWith($"\n\nError: Missing option '{expected}'.\n", result.Error);
        Assert.Empty(Server.Requests);
    }

    [Fact]
    public async Task RequiredOptionsMayComeFromTheEnvironment()
    {
        var environment = new Dictionary<string, string>
        {
            ["CRAY_CFS_V3_SOURCES_CREATE_CLONE_URL"] = "https://git.example/config.git",
            ["CRAY_CFS_V3_SOURCES_CREATE_CREDENTIALS_USERNAME"] = "admin",
            ["CRAY_CFS_V3_SOURCES_CREATE_CREDENTIALS_PASSWORD"] = "secret",
        };
        var result = await Cray.RunAsync(environment, "cfs", "v3", "sources", "create", "--format", "json");
        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        var body = request.Body!;
        Assert.Equal("https://git.example/config.git", (string?)body["clone_url"]);
        Assert.Equal("admin", (string?)body["credentials"]!["username"]);
        Assert.Equal("secret", (string?)body["credentials"]!["password"]);
    }

    [Fact]
    public async Task HelpMarksRequiredOptionsAsClickDoes()
    {
        var result = await Cray.RunAsync("ims", "images", "create", "-h");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--name <NAME>", result.Output);
        Assert.Contains("[required]", result.Output.Split('\n').Single(line => line.Contains("--name <NAME>")));
    }
}
