using System.Text.Json.Nodes;

namespace Cray.Cfs.Tests;

public sealed class ComponentsApiTests : IAsyncLifetime
{
    private readonly CfsTestServer server = new();
    private string commit = "";

    public async Task InitializeAsync()
    {
        await server.PutConfigurationAsync("compute");
        var (_, configuration) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations/compute");
        commit = (string)configuration!["layers"]![0]!["commit"]!;
    }

    public Task DisposeAsync()
    {
        server.Dispose();
        return Task.CompletedTask;
    }

    private string StateAppend(string suffix = "") => $$$"""
        {"state_append":{"clone_url":"{{{server.Repository}}}","playbook":"site.yml","commit":"{{{commit}}}{{{suffix}}}","session_name":"s1"}}
        """;

    private async Task<JsonNode> GetAsync(string id, string query = "")
    {
        var (status, component) = await server.SendAsync(HttpMethod.Get, $"/apis/cfs/v3/components/{id}{query}");
        Assert.Equal(200, status);
        return component!;
    }

    [Fact]
    public async Task ConfigurationStatusFollowsTheRecordedState()
    {
        await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x1", """{"enabled":true}""");
        Assert.Equal("unconfigured", (string?)(await GetAsync("x1"))["configuration_status"]);

        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"desired_config":"compute","retry_policy":2}""");
        Assert.Equal("pending", (string?)(await GetAsync("x1"))["configuration_status"]);

        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", StateAppend("_failed"));
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"error_count":1}""");
        Assert.Equal("pending", (string?)(await GetAsync("x1"))["configuration_status"]);
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"error_count":2}""");
        Assert.Equal("failed", (string?)(await GetAsync("x1"))["configuration_status"]);

        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", StateAppend("_incomplete"));
        Assert.Equal("failed", (string?)(await GetAsync("x1"))["configuration_status"]);
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"error_count":0}""");
        Assert.Equal("pending", (string?)(await GetAsync("x1"))["configuration_status"]);

        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", StateAppend());
        var component = await GetAsync("x1", "?state_details=true&config_details=true");
        Assert.Equal("configured", (string?)component["configuration_status"]);
        // state_append replaced the layer with the same repo and playbook rather than adding one.
        var layer = Assert.Single(component["state"]!.AsArray())!;
        Assert.Equal("applied", (string?)layer["status"]);
        Assert.Equal("configured", (string?)component["desired_state"]![0]!["status"]);
        Assert.False((await GetAsync("x1")).AsObject().ContainsKey("state"));
    }

    [Fact]
    public async Task DesiredConfigResetsTheErrorCountAndEmptyTagsAreDropped()
    {
        await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x1", """{"error_count":3,"tags":{"role":"compute","drop":""}}""");
        var component = await GetAsync("x1");
        Assert.Equal(3, (int?)component["error_count"]);
        Assert.Equal("""{"role":"compute"}""", component["tags"]!.ToJsonString());
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"desired_config":"compute"}""");
        Assert.Equal(0, (int?)(await GetAsync("x1"))["error_count"]);
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"error_count":2,"state":[]}""");
        Assert.Equal(2, (int?)(await GetAsync("x1"))["error_count"]);
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"state":[]}""");
        Assert.Equal(0, (int?)(await GetAsync("x1"))["error_count"]);
    }

    [Fact]
    public async Task BulkWritesByListAndByFilters()
    {
        var (status, put) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components",
            """[{"id":"x1","desired_config":"compute"},{"id":"x2","desired_config":"compute","enabled":false},{"id":"x3"}]""");
        Assert.Equal(200, status);
        Assert.Equal("""{"component_ids":["x1","x2","x3"]}""", put!.ToJsonString());

        var (_, byList) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v2/components", """[{"id":"x3","tags":{"rack":"1"}}]""");
        Assert.Equal("1", (string?)byList![0]!["tags"]!["rack"]);

        var (_, byFilter) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components", """{"patch":{"enabled":true},"filters":{"enabled":false}}""");
        Assert.Equal("""{"component_ids":["x2"]}""", byFilter!.ToJsonString());
        (_, byFilter) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components", """{"patch":{"error_count":1},"filters":{"config_name":"compute","status":"pending"}}""");
        Assert.Equal("""{"component_ids":["x1","x2"]}""", byFilter!.ToJsonString());

        var (noFilter, _) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components", """{"patch":{"enabled":true},"filters":{}}""");
        Assert.Equal(400, noFilter);
        var (missing, _) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components", """[{"id":"x1","enabled":false},{"id":"nobody","enabled":false}]""");
        Assert.Equal(404, missing);
        Assert.True((bool)(await GetAsync("x1"))["enabled"]!);

        var (_, list) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/components?ids=x1,x3&limit=1");
        Assert.Equal("x1", (string?)list!["components"]![0]!["id"]);
        Assert.Equal("x1", (string?)list["next"]!["after_id"]);
        var (_, tagged) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/components?tags=rack=1");
        Assert.Equal("x3", (string?)Assert.Single(tagged!.AsArray())!["id"]);
    }

    [Fact]
    public async Task V2ShapesUseCamelCaseAndCommitSuffixes()
    {
        await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x1", """{"desired_config":"compute"}""");
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", StateAppend("_failed"));
        var (_, component) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/components/x1?configDetails=true");
        Assert.Equal(["configurationStatus", "desiredConfig", "desiredState", "enabled", "errorCount", "id", "retryPolicy", "state", "tags"],
            component!.AsObject().Select(pair => pair.Key));
        Assert.Equal($"{commit}_failed", (string?)component["state"]![0]!["commit"]);
        Assert.Equal(server.Repository, (string?)component["state"]![0]!["cloneUrl"]);
        var (status, _) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v2/components/x1", """{"desired_config":"x"}""");
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task AConfigurationInUseCannotBeDeletedAndMissingComponentsAre404()
    {
        await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x1", """{"desired_config":"compute"}""");
        var (status, problem) = await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/configurations/compute");
        Assert.Equal(400, status);
        Assert.Equal("Configuration is in use.", (string?)problem!["title"]);
        var (_, inUse) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/configurations?in_use=true");
        Assert.Single(inUse!["configurations"]!.AsArray());

        Assert.Equal(204, (await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/components/x1")).Status);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/components/x1")).Status);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"enabled":true}""")).Status);
        Assert.Equal(204, (await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/configurations/compute")).Status);
    }

    [Theory]
    [InlineData("""{"configuration_status":"configured"}""")]
    [InlineData("""{"desired_state":[]}""")]
    [InlineData("""{"unknown":1}""")]
    [InlineData("""{"error_count":-1}""")]
    [InlineData("""{"state_append":{"clone_url":"u","playbook":"p","commit":"c","status":"maybe"}}""")]
    public async Task ReadOnlyUnknownAndInvalidFieldsAreRejected(string body)
    {
        var (status, problem) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x9", body);
        Assert.Equal(400, status);
        Assert.Equal("Bad Request", (string?)problem!["title"]);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/components/x9")).Status);
    }

    [Fact]
    public async Task EachVersionAnswersItsOwnShapeWithSortedKeysAndDerivedStatus()
    {
        var repository = server.Repository;
        var (status, _) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x1", $$$"""
            {"desired_config":"compute","enabled":false,"tags":{"zone":"b","rack":"a","empty":""},
             "state":[{"clone_url":"{{{repository}}}","playbook":"site.yml","commit":"{{{commit}}}","status":"failed","session_name":"s0"},
                      {"clone_url":"other","playbook":"p.yml","commit":"c_incomplete"}]}
            """);
        Assert.Equal(200, status);
        var v3 = await GetAsync("x1", "?config_details=true&state_details=true");
        var state = v3["state"]!.AsArray();
        var updated = (string?)state[0]!["last_updated"];
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", updated);
        AssertJson($$$"""
            {"configuration_status":"pending","desired_config":"compute",
             "desired_state":[{"clone_url":"{{{repository}}}","commit":"{{{commit}}}","last_updated":"{{{updated}}}","playbook":"site.yml","session_name":"s0","status":"pending"}],
             "enabled":false,"error_count":0,"id":"x1","retry_policy":3,
             "state":[{"clone_url":"{{{repository}}}","commit":"{{{commit}}}","last_updated":"{{{updated}}}","playbook":"site.yml","session_name":"s0","status":"failed"},
                      {"clone_url":"other","commit":"c","last_updated":"{{{updated}}}","playbook":"p.yml","status":"incomplete"}],
             "tags":{"rack":"a","zone":"b"}}
            """, v3);
        var (_, v2) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/components/x1?configDetails=true");
        AssertJson($$$"""
            {"configurationStatus":"pending","desiredConfig":"compute",
             "desiredState":[{"cloneUrl":"{{{repository}}}","commit":"{{{commit}}}","lastUpdated":"{{{updated}}}","playbook":"site.yml","sessionName":"s0","status":"pending"}],
             "enabled":false,"errorCount":0,"id":"x1","retryPolicy":3,
             "state":[{"cloneUrl":"{{{repository}}}","commit":"{{{commit}}}_failed","lastUpdated":"{{{updated}}}","playbook":"site.yml","sessionName":"s0"},
                      {"cloneUrl":"other","commit":"c_incomplete","lastUpdated":"{{{updated}}}","playbook":"p.yml"}],
             "tags":{"rack":"a","zone":"b"}}
            """, v2);

        (status, var patched) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1", """{"retry_policy":5,"tags":{"zone":"","new":"n"}}""");
        Assert.Equal(200, status);
        Assert.Equal(5, (int)patched!["retry_policy"]!);
        AssertJson("""{"new":"n","rack":"a"}""", patched["tags"]);
        Assert.False(patched.AsObject().ContainsKey("desired_state"));
    }

    /// <summary>Equal as JSON, and with the keys in the same (sorted) order, as the reference writes them.</summary>
    private static void AssertJson(string expected, JsonNode? actual)
        => Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), actual?.ToJsonString());
}
