using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Cray.Cfs.Tests;

/// <summary>
/// Every IMS and CFS write route against every kind of malformed body: each answer is a 4xx
/// problem+json (never a 500), and nothing is stored by a refused request.
/// </summary>
public sealed class MalformedBodyTests : IClassFixture<CfsTestServer>
{
    private readonly CfsTestServer server;

    public MalformedBodyTests(CfsTestServer server) => this.server = server;

    /// <summary>Bodies no strict client sends, by what is wrong with them; the expected status is 400 unless the Content-Type says otherwise.</summary>
    public static TheoryData<string> Kinds => new(Hostile.Keys);

    private static readonly Dictionary<string, (byte[] Body, string ContentType)> Hostile = new()
    {
        ["duplicate key"] = (Encoding.UTF8.GetBytes("""{"name":"a","name":"b"}"""), "application/json"),
        ["nested duplicate key"] = (Encoding.UTF8.GetBytes("""{"layers":[{"name":"a","name":"b"}]}"""), "application/json"),
        ["invalid UTF-8"] = ([.. "{\"name\":\""u8, 0xff, 0xfe, .. "\"}"u8], "application/json"),
        ["lone surrogate"] = (Encoding.UTF8.GetBytes("""{"name":"\ud800"}"""), "application/json"),
        ["NUL in a string"] = (Encoding.UTF8.GetBytes("""{"name":"a\u0000b"}"""), "application/json"),
        ["NUL in a key"] = (Encoding.UTF8.GetBytes("""{"na\u0000me":"a"}"""), "application/json"),
        ["not JSON"] = (Encoding.UTF8.GetBytes("name=a"), "application/json"),
        ["truncated"] = (Encoding.UTF8.GetBytes("""{"name":"""), "application/json"),
        ["a list"] = (Encoding.UTF8.GetBytes("[1,2]"), "application/json"),
        ["a string"] = (Encoding.UTF8.GetBytes("\"name\""), "application/json"),
        ["null"] = (Encoding.UTF8.GetBytes("null"), "application/json"),
        ["wrong types"] = (Encoding.UTF8.GetBytes("""{"name":5,"id":[],"layers":"x","enabled":"yes","desired_config":7,"arch":{},"public_key":1,"clone_url":false,"target":3}"""), "application/json"),
        ["numbers out of range"] = (Encoding.UTF8.GetBytes("""{"name":"a","session_ttl":1e400,"error_count":99999999999999999999,"default_batcher_retry_policy":-1e309}"""), "application/json"),
        ["too deep"] = (Encoding.UTF8.GetBytes(new string('[', 5000) + new string(']', 5000)), "application/json"),
        ["deep object"] = (Encoding.UTF8.GetBytes("{\"name\":" + string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100) + "}"), "application/json"),
        ["text/plain"] = (Encoding.UTF8.GetBytes("""{"name":"a"}"""), "text/plain"),
        ["XML"] = (Encoding.UTF8.GetBytes("<name>a</name>"), "application/xml"),
        ["form"] = (Encoding.UTF8.GetBytes("name=a"), "application/x-www-form-urlencoded"),
        ["latin-1 charset"] = (Encoding.UTF8.GetBytes("""{"name":"a"}"""), "application/json; charset=iso-8859-1"),
    };

    private static readonly string[] RoutesNeedingNothing =
    [
        "POST /apis/ims/v3/images", "POST /apis/ims/images", "POST /apis/ims/v2/images",
        "POST /apis/ims/v3/recipes", "POST /apis/ims/v3/public-keys", "POST /apis/ims/v3/remote-build-nodes", "POST /apis/ims/v3/jobs", "POST /apis/ims/v2/jobs",
        "PATCH /apis/ims/v3/deleted/images", "PATCH /apis/ims/v3/deleted/recipes", "PATCH /apis/ims/v3/deleted/public-keys",
        "POST /apis/cfs/v3/sessions", "POST /apis/cfs/v2/sessions", "PATCH /apis/cfs/v3/options", "PATCH /apis/cfs/v2/options",
        "PUT /apis/cfs/v3/configurations/hostile", "PUT /apis/cfs/v2/configurations/hostile",
        "PUT /apis/cfs/v3/components", "PATCH /apis/cfs/v3/components", "PUT /apis/cfs/v2/components", "PATCH /apis/cfs/v2/components",
        "PUT /apis/cfs/v3/components/x3000c0s1b0n0", "PATCH /apis/cfs/v3/components/x3000c0s1b0n0", "PUT /apis/cfs/v2/components/x3000c0s1b0n0",
        "POST /apis/cfs/v3/sources", "POST /apis/cfs/v3/sources/restored",
    ];

    /// <summary>The routes, with their records made once per server (the cases run one after another on one server).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<CfsTestServer, Task<List<string>>> RoutesByServer = [];

    private Task<List<string>> RoutesAsync() => RoutesByServer.GetValue(server, _ => MakeRoutesAsync());

    /// <summary>Routes on a record: the test makes the record first, so the body is what gets judged.</summary>
    private async Task<List<string>> MakeRoutesAsync()
    {
        var routes = new List<string>(RoutesNeedingNothing);
        var (status, image) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"target"}""");
        Assert.Equal(201, status);
        routes.Add($"PATCH /apis/ims/v3/images/{image!["id"]}");
        routes.Add($"PATCH /apis/ims/v2/images/{image["id"]}");
        (status, var recipe) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/recipes",
            """{"name":"target","recipe_type":"kiwi-ng","linux_distribution":"sles15"}""");
        Assert.Equal(201, status);
        routes.Add($"PATCH /apis/ims/v3/recipes/{recipe!["id"]}");
        await server.PutConfigurationAsync("target");
        (status, _) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x3000c0s2b0n0", """{"desired_config":"target"}""");
        Assert.True(status is 200 or 201);
        routes.Add("PATCH /apis/cfs/v3/components/x3000c0s2b0n0");
        var session = $"target-{Guid.NewGuid():n}";
        (status, var created) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", $$$"""{"name":"{{{session}}}","configuration_name":"target","target":{"definition":"spec","groups":[{"name":"nodes","members":["x3000c0s1b0n0"]}]}}""");
        Assert.True(status == 201, created?.ToJsonString());
        routes.Add($"PATCH /apis/cfs/v3/sessions/{session}");
        routes.Add($"PATCH /apis/cfs/v2/sessions/{session}");
        return routes;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task EveryWriteRouteRefusesItWithAProblem(string kind)
    {
        var (body, contentType) = Hostile[kind];
        var failures = new List<string>();
        using var client = server.CreateClient();
        foreach (var route in await RoutesAsync())
        {
            var (method, path) = (route.Split(' ')[0], route.Split(' ')[1]);
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            if (status is < 400 or > 499 || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                failures.Add($"{route}: {status} {response.Content.Headers.ContentType?.MediaType} {text[..Math.Min(text.Length, 200)]}");
            }
            else if (contentType != "application/json" && status != 415)
            {
                failures.Add($"{route}: {status} where a body sent as {contentType} is a 415");
            }
            else if (JsonNode.Parse(text)?["detail"] is null)
            {
                failures.Add($"{route}: {status} without a detail: {text}");
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));

        // Nothing the refused requests carried was stored.
        var (_, images) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/images");
        Assert.DoesNotContain(images!.AsArray(), image => (string?)image!["name"] is "a" or "b");
        var (_, sessions) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions");
        Assert.DoesNotContain(sessions!["sessions"]!.AsArray(), session => (string?)session!["name"] is "a" or "b");
    }

    [Theory]
    [InlineData("""{"name":"a","name":"b"}""", "appears more than once")]
    [InlineData("""{"name":"\udc00x"}""", "surrogate")]
    [InlineData("""{"name":"a\u0000"}""", "NUL")]
    public async Task TheProblemSaysWhatIsWrong(string body, string expected)
    {
        foreach (var path in new[] { "/apis/ims/v3/images", "/apis/cfs/v3/sessions" })
        {
            var (status, problem) = await server.SendAsync(HttpMethod.Post, path, body);
            Assert.Equal(400, status);
            Assert.Contains(expected, (string?)problem!["detail"]);
        }
    }

    [Fact]
    public async Task TextThatDoesNotParseIsAnsweredInEachServicesOwnWords()
    {
        // CFS (connexion) says the body is not JSON; IMS answers as for an empty body, as the reference does.
        var (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", """{"name":""");
        Assert.Equal(400, status);
        Assert.Contains("not valid JSON", (string?)problem!["detail"]);
        Assert.Equal("about:blank", (string?)problem["type"]);
        (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":""");
        Assert.Equal(400, status);
        Assert.StartsWith("No input provided.", (string?)problem!["detail"]);
    }

    [Theory]
    [InlineData("../../etc")]
    [InlineData("/etc/ansible/ansible")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("a b")]
    [InlineData("a\nb")]
    public async Task AnsibleConfigurationsAreNamesNotPaths(string name)
    {
        var value = System.Text.Json.JsonSerializer.Serialize(name);
        var (status, problem) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", $$"""{"default_ansible_config":{{value}}}""");
        Assert.True(status == 400, problem?.ToJsonString());
        Assert.Contains("does not match", (string?)problem!["detail"]);
        var (_, options) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/options");
        Assert.Equal("cfs-default-ansible-cfg", (string?)options!["default_ansible_config"]);

        await server.PutConfigurationAsync("named-config");
        (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions",
            $$$"""{"name":"named-config-session","configuration_name":"named-config","ansible_config":{{{value}}},"target":{"definition":"spec","groups":[{"name":"nodes","members":["x3000c0s1b0n0"]}]}}""");
        Assert.True(status == 400, problem?.ToJsonString());
        (status, _) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions/named-config-session");
        Assert.Equal(404, status);
    }

    [Theory]
    [InlineData("x3000c0s1b0n0\r\nx3000c0s1b0n1")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("-x")]
    [InlineData("has space")]
    public async Task ComponentIdsAreNodeNames(string id)
    {
        var value = System.Text.Json.JsonSerializer.Serialize(id);
        var (status, problem) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components", $$"""[{"id":{{value}},"enabled":true}]""");
        Assert.True(status == 400, problem?.ToJsonString());
        Assert.Contains("does not match", (string?)problem!["detail"]);
        var (_, components) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/components");
        Assert.DoesNotContain(components!["components"]!.AsArray(), component => (string?)component!["id"] == id);
    }

    [Fact]
    public async Task AComponentIdOfAbsurdLengthIsRefusedInTheBodyAndThePath()
    {
        var id = new string('x', 5000);
        var (status, problem) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components", $$"""[{"id":"{{id}}"}]""");
        Assert.True(status == 400, problem?.ToJsonString());
        Assert.Contains("is too long", (string?)problem!["detail"]);
        (status, problem) = await server.SendAsync(HttpMethod.Put, $"/apis/cfs/v3/components/{new string('y', 300)}", """{"enabled":true}""");
        Assert.True(status == 400, problem?.ToJsonString());
        (status, _) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x3000c0s9b0n0", """{"enabled":true}""");
        Assert.Equal(200, status);
    }
}
