namespace Cray.Cfs.Tests;

public sealed class ConfigurationsApiTests : IDisposable
{
    private readonly CfsTestServer server = new();

    public void Dispose() => server.Dispose();

    private string Layer(string extra = "") => $$$"""{"name":"base","clone_url":"{{{server.Repository}}}","playbook":"site.yml"{{{extra}}}}""";

    [Fact]
    public async Task BranchesResolveToTheirHeadCommitOnPutAndAgainOnPatch()
    {
        var first = await server.CommitAsync("site.yml", "- hosts: all\n");
        var (status, configuration) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/c1",
            $$$"""{"description":"test","layers":[{{{Layer(""","branch":"main" """)}}}]}""");
        Assert.Equal(200, status);
        Assert.Equal(first, (string?)configuration!["layers"]![0]!["commit"]);
        Assert.Equal("main", (string?)configuration["layers"]![0]!["branch"]);
        Assert.Equal("c1", (string?)configuration["name"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", (string?)configuration["last_updated"]);

        var second = await server.CommitAsync("roles.yml", "x");
        var (_, unchanged) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations/c1");
        Assert.Equal(first, (string?)unchanged!["layers"]![0]!["commit"]);
        (status, var updated) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/configurations/c1");
        Assert.Equal(200, status);
        Assert.Equal(second, (string?)updated!["layers"]![0]!["commit"]);
    }

    [Fact]
    public async Task AFailedBranchResolutionStoresNothingAndKeepsTheOldConfiguration()
    {
        var commit = await server.CommitAsync("site.yml", "- hosts: all\n");
        await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/c1", $$$"""{"layers":[{{{Layer($$$""","commit":"{{{commit}}}" """)}}}]}""");
        var (status, problem) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/c1",
            $$$"""{"layers":[{{{Layer(""","branch":"no-such-branch" """)}}}]}""");
        Assert.Equal(400, status);
        Assert.Equal("Error converting branch name to commit", (string?)problem!["title"]);
        var (_, kept) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations/c1");
        Assert.Equal(commit, (string?)kept!["layers"]![0]!["commit"]);
        Assert.False(kept["layers"]![0]!.AsObject().ContainsKey("branch"));

        (status, _) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/c2",
            """{"layers":[{"clone_url":"/nonexistent/repository","branch":"main","playbook":"site.yml"}]}""");
        Assert.Equal(400, status);
        (status, _) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations/c2");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task DropBranchesKeepsOnlyTheCommit()
    {
        await server.CommitAsync("site.yml", "- hosts: all\n");
        var (_, configuration) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/c1?drop_branches=True",
            $$$"""{"layers":[{{{Layer(""","branch":"main" """)}}}]}""");
        Assert.False(configuration!["layers"]![0]!.AsObject().ContainsKey("branch"));
        Assert.Equal(40, ((string?)configuration["layers"]![0]!["commit"])!.Length);
    }

    [Theory]
    [InlineData("""{"layers":[{"clone_url":"u","source":"s","playbook":"p.yml"}]}""", "Error handling source", "Only source or clone_url should be specified for each layer, not both.")]
    [InlineData("""{"layers":[{"playbook":"p.yml"}]}""", "Error handling source", "Either source or clone_url must be specified for each layer.")]
    [InlineData("""{"layers":[{"clone_url":"u","playbook":"p.yml","branch":"main","commit":"0123456789abcdef0123456789abcdef01234567"}]}""", "Error handling branches", "Only branch or commit should be specified for each layer, not both.")]
    [InlineData("""{"layers":[{"source":"vcs","playbook":"p.yml"}]}""", "Source does not exist", "The source vcs does not exist.")]
    [InlineData("""{"layers":[{"clone_url":"u","playbook":"p.yml","commit":"0123456789abcdef0123456789abcdef01234567"},{"clone_url":"u","playbook":"p.yml","commit":"0123456789abcdef0123456789abcdef01234567"}]}""", "Error with conflicting layers", "Two or more layers apply the same playbook from the same repo, but have different commit ids.")]
    [InlineData("""{"layers":[{"clone_url":"u"}]}""", "Bad Request", "'playbook' is a required property - 'layers.0'")]
    [InlineData("""{"layers":[{"clone_url":"u","playbook":"p.yml","commit":"main"}]}""", "Bad Request", "does not match")]
    [InlineData("""{"name":"other","layers":[]}""", "Bad Request", "Property is read-only - 'name'")]
    [InlineData("""{"last_updated":"x","layers":[]}""", "Bad Request", "Property is read-only - 'last_updated'")]
    [InlineData("""{"layers":[{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","clone_url":"u","playbook":"p.yml"}]}""", "Bad Request", "is too long")]
    public async Task V3LayerRules(string body, string title, string detail)
    {
        var (status, problem) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/c1", body);
        Assert.Equal(400, status);
        Assert.Equal(title, (string?)problem!["title"]);
        Assert.Contains(detail, (string?)problem["detail"]);
        (status, _) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations/c1");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task V2UsesCamelCaseAndRequiresCloneUrl()
    {
        var commit = await server.CommitAsync("site.yml", "- hosts: all\n");
        var (status, configuration) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v2/configurations/c1",
            $$$"""{"layers":[{"cloneUrl":"{{{server.Repository}}}","commit":"{{{commit}}}","playbook":"site.yml","specialParameters":{"imsRequireDkms":true,"layerCache":false}}]}""");
        Assert.Equal(200, status);
        Assert.Equal(["lastUpdated", "layers", "name"], configuration!.AsObject().Select(pair => pair.Key));
        Assert.Equal(server.Repository, (string?)configuration["layers"]![0]!["cloneUrl"]);
        Assert.True((bool)configuration["layers"]![0]!["specialParameters"]!["imsRequireDkms"]!);
        // Ours: a layer that opts out of the layer cache.
        Assert.False((bool)configuration["layers"]![0]!["specialParameters"]!["layerCache"]!);
        var (_, v3) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations/c1");
        Assert.True((bool)v3!["layers"]![0]!["special_parameters"]!["ims_require_dkms"]!);
        Assert.False((bool)v3["layers"]![0]!["special_parameters"]!["layer_cache"]!);
        (status, var refused) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v2/configurations/c3",
            $$$"""{"layers":[{"cloneUrl":"{{{server.Repository}}}","commit":"{{{commit}}}","specialParameters":{"layerCache":"no"}}]}""");
        Assert.Equal(400, status);
        Assert.Contains("layerCache", (string?)refused!["detail"], StringComparison.Ordinal);
        (status, _) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v2/configurations/c2", """{"layers":[{"playbook":"site.yml"}]}""");
        Assert.Equal(400, status);
        (status, var problem) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v2/configurations/c2",
            """{"layers":[{"cloneUrl":"u","branch":"main","commit":"0123456789abcdef0123456789abcdef01234567"}]}""");
        Assert.Equal("Error handling error branches", (string?)problem!["title"]);
    }

    [Fact]
    public async Task ListPagesAndDeleteAndNotFound()
    {
        var commit = await server.CommitAsync("site.yml", "- hosts: all\n");
        foreach (var name in new[] { "b", "a", "c" })
        {
            await server.SendAsync(HttpMethod.Put, $"/apis/cfs/v3/configurations/{name}", $$$"""{"layers":[{{{Layer($$$""","commit":"{{{commit}}}" """)}}}]}""");
        }
        var (_, page) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations?limit=2");
        Assert.Equal(["a", "b"], page!["configurations"]!.AsArray().Select(configuration => (string)configuration!["name"]!));
        Assert.Equal("""{"in_use":null,"limit":2,"after_id":"b"}""", page["next"]!.ToJsonString());
        var (_, v2) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/configurations");
        Assert.Equal(3, v2!.AsArray().Count);
        var (_, unused) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations?in_use=false");
        Assert.Equal(3, unused!["configurations"]!.AsArray().Count);

        var (status, _) = await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/configurations/a");
        Assert.Equal(204, status);
        (status, var problem) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations/a");
        Assert.Equal(404, status);
        Assert.Equal("Configuration not found", (string?)problem!["title"]);
        Assert.Equal("Configuration a could not be found", (string?)problem["detail"]);
        (status, _) = await server.SendAsync(HttpMethod.Put, $"/apis/cfs/v3/configurations/{new string('x', 61)}", """{"layers":[]}""");
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task TenantsSeeAndChangeOnlyTheirOwnConfigurations()
    {
        var commit = await server.CommitAsync("site.yml", "- hosts: all\n");
        var body = $$$"""{"layers":[{{{Layer($$$""","commit":"{{{commit}}}" """)}}}]}""";
        var (status, owned) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/tenant-a-config", body, tenant: "vcluster-a");
        Assert.Equal(200, status);
        Assert.Equal("vcluster-a", (string?)owned!["tenant_name"]);
        await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/admin-config", body);

        var (_, seenByA) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations", tenant: "vcluster-a");
        Assert.Equal(["tenant-a-config"], seenByA!["configurations"]!.AsArray().Select(configuration => (string)configuration!["name"]!));
        var (_, seenByAdmin) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations");
        Assert.Equal(2, seenByAdmin!["configurations"]!.AsArray().Count);

        foreach (var (method, payload) in new[] { (HttpMethod.Get, (string?)null), (HttpMethod.Patch, null), (HttpMethod.Delete, null), (HttpMethod.Put, body) })
        {
            var (forbidden, problem) = await server.SendAsync(method, "/apis/cfs/v3/configurations/tenant-a-config", payload, tenant: "vcluster-b");
            Assert.Equal(403, forbidden);
            Assert.Equal("Forbidden operation.", (string?)problem!["title"]);
        }
        var (renamed, renameProblem) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/new-config",
            $$$"""{"tenant_name":"vcluster-b","layers":[{{{Layer($$$""","commit":"{{{commit}}}" """)}}}]}""", tenant: "vcluster-a");
        Assert.Equal(403, renamed);
        Assert.Equal("Modification to existing field 'tenant_name' is not permitted.", (string?)renameProblem!["detail"]);
        // v2 knows nothing of tenants.
        var (_, v2) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/configurations/tenant-a-config", tenant: "vcluster-b");
        Assert.False(v2!.AsObject().ContainsKey("tenant_name"));
    }

    [Fact]
    public async Task EachVersionAnswersItsOwnShapeWithAbsentFieldsLeftOut()
    {
        var commit = await server.CommitAsync("site.yml", "- hosts: all\n");
        var repository = server.Repository;
        var (status, stored) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/shapes", $$$"""
            {"description":"d","tenant_name":"","layers":[
              {"name":"a","clone_url":"{{{repository}}}","playbook":"site.yml","branch":"main","special_parameters":{}},
              {"clone_url":"{{{repository}}}","playbook":"other.yml","commit":"{{{commit}}}","special_parameters":{"ims_require_dkms":false}}],
             "additional_inventory":{"clone_url":"{{{repository}}}","commit":"{{{commit}}}"}}
            """);
        Assert.Equal(200, status);
        var updated = (string?)stored!["last_updated"];
        AssertJson($$$"""
            {"additional_inventory":{"clone_url":"{{{repository}}}","commit":"{{{commit}}}"},"description":"d","last_updated":"{{{updated}}}",
             "layers":[{"branch":"main","clone_url":"{{{repository}}}","commit":"{{{commit}}}","name":"a","playbook":"site.yml","special_parameters":{}},
                       {"clone_url":"{{{repository}}}","commit":"{{{commit}}}","playbook":"other.yml","special_parameters":{"ims_require_dkms":false}}],
             "name":"shapes","tenant_name":""}
            """, stored);
        var (_, v3) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations/shapes");
        AssertJson(stored.ToJsonString(), v3);
        var (_, v2) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/configurations/shapes");
        AssertJson($$$"""
            {"additional_inventory":{"clone_url":"{{{repository}}}","commit":"{{{commit}}}"},"description":"d","lastUpdated":"{{{updated}}}",
             "layers":[{"branch":"main","cloneUrl":"{{{repository}}}","commit":"{{{commit}}}","name":"a","playbook":"site.yml","specialParameters":{}},
                       {"cloneUrl":"{{{repository}}}","commit":"{{{commit}}}","playbook":"other.yml","specialParameters":{"imsRequireDkms":false}}],
             "name":"shapes"}
            """, v2);
    }

    /// <summary>Equal as JSON, and with the keys in the same (sorted) order, as the reference writes them.</summary>
    private static void AssertJson(string expected, System.Text.Json.Nodes.JsonNode? actual)
        => Assert.Equal(System.Text.Json.Nodes.JsonNode.Parse(expected)!.ToJsonString(), actual?.ToJsonString());
}
