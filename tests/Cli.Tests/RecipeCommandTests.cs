using System.Text.Json.Nodes;

namespace Cray.Cli.Tests;

/// <summary><c>cray ims recipes …</c> and <c>cray ims deleted recipes …</c>: what the built CLI sends.</summary>
public sealed class RecipeCommandTests : RecordedCommandTests
{
    [Fact]
    public async Task CreateSendsEveryOptionWithTheTemplateDictionaryZipped()
    {
        var result = await Cray.RunAsync("ims", "recipes", "create", "--name", "compute", "--recipe-type", "kiwi-ng",
            "--linux-distribution", "sles15", "--arch", "aarch64", "--require-dkms", "False",
            "--template-dictionary-key", "CSM_RELEASE,repo", "--template-dictionary-value", "1.6, https://repo/x",
            "--link-type", "s3", "--link-path", "s3://ims/recipes/r/recipe.tar.gz", "--link-etag", "abc", "--format", "json");
        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/apis/ims/v3/recipes", request.Path);
        AssertJson("""
            {"name":"compute","recipe_type":"kiwi-ng","linux_distribution":"sles15","arch":"aarch64","require_dkms":false,
             "link":{"type":"s3","path":"s3://ims/recipes/r/recipe.tar.gz","etag":"abc"},
             "template_dictionary":[{"key":"CSM_RELEASE","value":"1.6"},{"key":"repo","value":"https://repo/x"}]}
            """, request.Body);
        Assert.Equal("{}\n", result.Output);
    }

    [Fact]
    public async Task CreateWithOnlyTheRequiredOptionsSendsOnlyThem()
    {
        var result = await Cray.RunAsync("ims", "recipes", "create", "--name", "n", "--recipe-type", "packer", "--linux-distribution", "centos7");
        Assert.Equal(0, result.ExitCode);
        AssertJson("""{"name":"n","recipe_type":"packer","linux_distribution":"centos7"}""", Assert.Single(Server.Requests).Body);
    }

    [Theory]
    [InlineData("yes", true)]
    [InlineData("1", true)]
    [InlineData("t", true)]
    [InlineData("On", true)]
    [InlineData("no", false)]
    [InlineData("0", false)]
    [InlineData("F", false)]
    public async Task BooleanOptionsTakeEveryClickSpelling(string spelling, bool expected)
    {
        var result = await Cray.RunAsync("ims", "recipes", "update", "r1", "--require-dkms", spelling);
        Assert.True(result.ExitCode == 0, result.Error);
        AssertJson($$"""{"require_dkms":{{(expected ? "true" : "false")}}}""", Assert.Single(Server.Requests).Body);
    }

    [Fact]
    public async Task ABooleanOptionWithAnotherWordIsAUsageError()
    {
        var result = await Cray.RunAsync("ims", "recipes", "update", "r1", "--require-dkms", "maybe");
        Assert.Equal(2, result.ExitCode);
        Assert.EndsWith("Error: Invalid value for '--require-dkms': 'maybe' is not a valid boolean.\n", result.Error);
        Assert.Empty(Server.Requests);
    }

    [Theory]
    [InlineData("a,b", "1", "--template-dictionary-value")]
    [InlineData("a", "1,2", "--template-dictionary-key")]
    public async Task MismatchedTemplateDictionaryCountsAreAUsageErrorAndSendNothing(string keys, string values, string shorter)
    {
        var result = await Cray.RunAsync("ims", "recipes", "create", "--name", "n", "--recipe-type", "kiwi-ng", "--linux-distribution", "sles15",
            "--template-dictionary-key", keys, "--template-dictionary-value", values);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Usage: cray ims recipes create [OPTIONS]", result.Error);
        Assert.EndsWith($"Error: Invalid value: Missing parameter: {shorter}\n", result.Error);
        Assert.Empty(result.Output);
        Assert.Empty(Server.Requests);
    }

    [Theory]
    [InlineData(new[] { "--name", "n", "--recipe-type", "kiwi-ng" }, "Error: Missing option '--linux-distribution'.")]
    [InlineData(new[] { "--name", "n", "--recipe-type", "docker", "--linux-distribution", "sles15" }, "Error: Invalid value for '--recipe-type': 'docker' is not one of")]
    [InlineData(new[] { "--name", "n", "--recipe-type", "kiwi-ng", "--linux-distribution", "sles15", "--arch", "sparc" },
        "\n\nError: Invalid value for '--arch': 'sparc' is not one of 'aarch64', 'x86_64'.\n")]
    public async Task CreateRefusesMissingOrInvalidOptionsBeforeSendingAnything(string[] options, string message)
    {
        var result = await Cray.RunAsync(["ims", "recipes", "create", .. options]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error);
        Assert.Empty(Server.Requests);
    }

    [Fact]
    public async Task UpdateSendsOnlyTheGivenMembers()
    {
        var result = await Cray.RunAsync("ims", "recipes", "update", "3f2c", "--require-dkms", "true",
            "--template-dictionary-key", "k", "--template-dictionary-value", "v");
        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("PATCH", request.Method);
        Assert.Equal("/apis/ims/v3/recipes/3f2c", request.Path);
        AssertJson("""{"require_dkms":true,"template_dictionary":[{"key":"k","value":"v"}]}""", request.Body);
    }

    [Fact]
    public async Task UpdateLinksTheArchiveAsTheDocumentedUploadDoes()
    {
        var result = await Cray.RunAsync("ims", "recipes", "update", "3f2c", "--link-type", "s3", "--link-path", "s3://ims/recipes/3f2c/r.tgz", "--arch", "x86_64");
        Assert.Equal(0, result.ExitCode);
        AssertJson("""{"arch":"x86_64","link":{"type":"s3","path":"s3://ims/recipes/3f2c/r.tgz"}}""", Assert.Single(Server.Requests).Body);
    }

    [Theory]
    [InlineData("ims recipes list", "GET", "/apis/ims/v3/recipes")]
    [InlineData("ims recipes describe R1", "GET", "/apis/ims/v3/recipes/R1")]
    [InlineData("ims recipes delete R1", "DELETE", "/apis/ims/v3/recipes/R1")]
    [InlineData("ims recipes deleteall", "DELETE", "/apis/ims/v3/recipes")]
    [InlineData("ims deleted recipes list", "GET", "/apis/ims/v3/deleted/recipes")]
    [InlineData("ims deleted recipes describe R1", "GET", "/apis/ims/v3/deleted/recipes/R1")]
    [InlineData("ims deleted recipes delete R1", "DELETE", "/apis/ims/v3/deleted/recipes/R1")]
    [InlineData("ims deleted recipes deleteall", "DELETE", "/apis/ims/v3/deleted/recipes")]
    public Task CommandsWithoutABodyUseTheirRoute(string command, string method, string path)
        => AssertSendsNoBodyToAsync(command, method, path);

    [Fact]
    public async Task DeletedRecipesUpdateSendsTheUndeleteOperation()
    {
        var result = await Cray.RunAsync("ims", "deleted", "recipes", "update", "R1", "--operation", "undelete");
        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("PATCH", request.Method);
        Assert.Equal("/apis/ims/v3/deleted/recipes/R1", request.Path);
        AssertJson("""{"operation":"undelete"}""", request.Body);
    }

    private static void AssertJson(string expected, JsonNode? actual)
        => Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}, got {actual?.ToJsonString()}");
}
