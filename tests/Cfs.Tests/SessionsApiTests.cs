using System.Text.Json.Nodes;
using Cray.Cfs.Model;
using Cray.Cfs.Sessions;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs.Tests;

public sealed class SessionsApiTests : IAsyncLifetime
{
    private const string Image = "5d64c8b2-4f0e-4b2e-b334-51daba16b7fb";
    private readonly CfsTestServer server = new();

    public Task InitializeAsync() => server.PutConfigurationAsync();

    public Task DisposeAsync()
    {
        server.Dispose();
        return Task.CompletedTask;
    }

    private static string SeedBody(string name = "example") => $$$"""
        {"name":"{{{name}}}","configurationName":"configurations-example",
         "target":{"definition":"image","groups":[{"name":"Compute","members":["{{{Image}}}"]}],"image_map":[]}}
        """;

    private async Task<int> CountAsync()
    {
        var (_, list) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions");
        return list!["sessions"]!.AsArray().Count;
    }

    [Fact]
    public async Task TheSeedsCreateAnswersInTheSeedsShape()
    {
        var (status, session) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v2/sessions", SeedBody());
        Assert.Equal(200, status);
        Assert.Equal(["ansible", "configuration", "name", "status", "tags", "target"], session!.AsObject().Select(pair => pair.Key));
        Assert.Equal("cfs-default-ansible-cfg", (string?)session["ansible"]!["config"]);
        Assert.Null(session["ansible"]!["limit"]);
        Assert.Equal(0, (int?)session["ansible"]!["verbosity"]);
        Assert.Equal("", (string?)session["configuration"]!["limit"]);
        Assert.Equal("configurations-example", (string?)session["configuration"]!["name"]);
        Assert.Empty(session["status"]!["artifacts"]!.AsArray());
        Assert.Equal("pending", (string?)session["status"]!["session"]!["status"]);
        Assert.Equal("none", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", (string?)session["status"]!["session"]!["startTime"]);
        Assert.Null(session["status"]!["session"]!["completionTime"]);
        Assert.False(session["status"]!["session"]!.AsObject().ContainsKey("ims_job"));
        Assert.Empty(session["tags"]!.AsObject());
        Assert.Equal("image", (string?)session["target"]!["definition"]);
        Assert.Equal(Image, (string?)session["target"]!["groups"]![0]!["members"]![0]);
        Assert.Equal("Compute", (string?)session["target"]!["groups"]![0]!["name"]);
    }

    [Fact]
    public async Task V3CreateIs201WithV3KeysAndALogsLink()
    {
        var (status, session) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions",
            """{"name":"v3-session","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]},"debug_on_failure":true,"tags":{"bos_session":"x"}}""");
        Assert.Equal(201, status);
        Assert.Equal(["ansible", "configuration", "debug_on_failure", "logs", "name", "status", "tags", "target"], session!.AsObject().Select(pair => pair.Key));
        Assert.Equal("", (string?)session["ansible"]!["limit"]);
        Assert.Equal("", (string?)session["ansible"]!["passthrough"]);
        Assert.True((bool)session["debug_on_failure"]!);
        Assert.EndsWith("/apis/cfs/v3/sessions/v3-session/logs", (string?)session["logs"]);
        Assert.Equal(["completion_time", "ims_job", "job", "start_time", "status", "succeeded"], session["status"]!["session"]!.AsObject().Select(pair => pair.Key));
        Assert.Equal("spec", (string?)session["target"]!["definition"]);
        Assert.Null(session["target"]!["image_map"]);
        Assert.Equal("x", (string?)session["tags"]!["bos_session"]);
    }

    [Theory]
    [InlineData("""{"name":"Bad_Name","configurationName":"configurations-example"}""", "does not match")]
    [InlineData("""{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","configurationName":"configurations-example"}""", "is too long")]
    [InlineData("""{"name":"ok"}""", "'configurationName' is a required property")]
    [InlineData("""{"name":"ok","configurationName":"configurations-example","ansibleVerbosity":5}""", "5 is greater than the maximum of 4")]
    [InlineData("""{"name":"ok","configurationName":"configurations-example","ansibleLimit":"a b"}""", "does not match")]
    [InlineData("""{"name":"ok","configurationName":"configurations-example","target":{"definition":"cloud"}}""", "is not one of")]
    [InlineData("""{"name":"ok","configurationName":"configurations-example","extra":1}""", "Additional properties are not allowed ('extra' was unexpected)")]
    [InlineData("""{"name":"ok","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]}}""", "Additional properties are not allowed")]
    [InlineData("""{"name":"ok","configurationName":"configurations-example","target":{"definition":"image","groups":[{"name":"g","members":["x"],"other":1}]}}""", "Additional properties")]
    [InlineData("""{"name":"ok","configurationName":"configurations-example","debug_on_failure":true}""", "Additional properties")]
    [InlineData("", "None is not of type 'object'")]
    public async Task SchemaFailuresAre400BadRequestAndNothingIsStored(string body, string detail)
    {
        var (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v2/sessions", body);
        Assert.Equal(400, status);
        Assert.Equal("Bad Request", (string?)problem!["title"]);
        Assert.Equal("about:blank", (string?)problem["type"]);
        Assert.Contains(detail, (string?)problem["detail"]);
        Assert.Equal(0, await CountAsync());
    }

    [Fact]
    public async Task ADuplicateNameIs409()
    {
        await server.SendAsync(HttpMethod.Post, "/apis/cfs/v2/sessions", SeedBody());
        var (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", """{"name":"example","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]}}""");
        Assert.Equal(409, status);
        Assert.Equal("Conflicting session name", (string?)problem!["title"]);
        Assert.Equal("A session with the name example already exists", (string?)problem["detail"]);

        // The name is checked before the target, as in the reference: a dynamic target (which this system refuses) still gets the 409.
        (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", """{"name":"example","configuration_name":"configurations-example"}""");
        Assert.Equal(409, status);
        Assert.Equal("Conflicting session name", (string?)problem!["title"]);
    }

    [Fact]
    public async Task AnUnknownConfigurationIs400ButV3LetsDebugConfigurationsThrough()
    {
        var (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v2/sessions", """{"name":"a","configurationName":"missing"}""");
        Assert.Equal(400, status);
        Assert.Equal("Invalid configuration", (string?)problem!["title"]);
        Assert.Equal("No configurations exist named missing", (string?)problem["detail"]);
        (status, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v2/sessions", """{"name":"b","configurationName":"debug_noop"}""");
        Assert.Equal(400, status);
        (status, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", """{"name":"c","configuration_name":"debug_noop","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]}}""");
        Assert.Equal(201, status);
    }

    [Theory]
    [InlineData("repo", """[{"name":"g","members":["x"]}]""", "'repo' target definitions must not contain groups specifications.")]
    [InlineData("dynamic", """[{"name":"g","members":["x"]}]""", "'dynamic' target definitions must not contain groups specifications.")]
    [InlineData("dynamic", "[]", "The 'dynamic' target builds its inventory from a hardware inventory (HSM), which this system does not have yet. Use --target-definition image (or spec) with --target-group NAME MEMBERS.")]
    [InlineData("spec", "[]", "At least one target group must be specified.")]
    [InlineData("image", "null", "At least one target group must be specified.")]
    [InlineData("image", """[{"name":"g"}]""", "Groups must be an object with the members property.")]
    [InlineData("spec", """[{"name":"g","members":[]}]""", "Group member lists must not be empty.")]
    [InlineData("spec", """[{"name":"g","members":[""]}]""", "Group members must not be blank.")]
    [InlineData("image", """[{"name":"Compute","members":["not-a-uuid","5d64c8b2-4f0e-4b2e-b334-51daba16b7fb"]}]""", "The following Image target group members are not valid UUIDs: [('Compute', 'not-a-uuid')].")]
    public async Task TargetRules(string definition, string groups, string detail)
    {
        var (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions",
            $$$"""{"name":"t","configuration_name":"configurations-example","target":{"definition":"{{{definition}}}","groups":{{{groups}}}}}""");
        Assert.Equal(400, status);
        Assert.Equal(detail, (string?)problem!["detail"]);
        Assert.Equal(0, await CountAsync());
    }

    [Theory]
    [InlineData("5D64C8B2-4F0E-4B2E-B334-51DABA16B7FB")]
    [InlineData("5d64c8b24f0e4b2eb33451daba16b7fb")]
    [InlineData("{5d64c8b2-4f0e-4b2e-b334-51daba16b7fb}")]
    public async Task AnyTextualUuidFormIsAnImageMember(string member)
    {
        var (status, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions",
            $$$"""{"name":"u","configuration_name":"configurations-example","target":{"definition":"image","groups":[{"name":"g","members":["{{{member}}}"]}]}}""");
        Assert.Equal(201, status);
    }

    [Theory]
    [InlineData("-e 'a=1 b=2' --forks 5 --skip-tags x --start-at-task 'Do it' -t y", true)]
    [InlineData("--extra-vars=@vars.yml --ta y", true)]
    [InlineData("--forks notanumber", false)]
    [InlineData("--check", false)]
    [InlineData("-i hosts", false)]
    [InlineData("-e", false)]
    [InlineData("-e 'unterminated", false)]
    public async Task PassthroughIsLimitedToTheWhitelist(string passthrough, bool accepted)
    {
        var body = new JsonObject
        {
            ["name"] = "p",
            ["configuration_name"] = "configurations-example",
            ["ansible_passthrough"] = passthrough,
            ["target"] = JsonNode.Parse("""{"definition":"spec","groups":[{"name":"g","members":["x1"]}]}"""),
        };
        var (status, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", body.ToJsonString());
        Assert.Equal(accepted ? 201 : 400, status);
        if (!accepted)
        {
            Assert.StartsWith("Error validating ansible-passthrough: ", (string?)problem!["detail"]);
        }
    }

    [Fact]
    public async Task UnknownSessionIs404EverywhereWithTheReferenceTexts()
    {
        foreach (var (method, body) in new[] { (HttpMethod.Get, (string?)null), (HttpMethod.Patch, """{"status":{}}"""), (HttpMethod.Delete, null) })
        {
            var (status, problem) = await server.SendAsync(method, "/apis/cfs/v3/sessions/nobody", body);
            Assert.Equal(404, status);
            Assert.Equal("Session not found.", (string?)problem!["title"]);
            Assert.Equal("Session nobody could not be found", (string?)problem["detail"]);
        }
    }

    [Fact]
    public async Task PatchIsMonotonicMergesAndDeduplicatesArtifacts()
    {
        await server.SendAsync(HttpMethod.Post, "/apis/cfs/v2/sessions", SeedBody());
        var artifact = """{"image_id":"a","result_id":"b","type":"ims_customized_image"}""";
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/sessions/example", $$$"""{"status":{"session":{"status":"complete","succeeded":"false","job":"cfs-1"},"artifacts":[{{{artifact}}}]}}""");
        var (_, session) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v2/sessions/example",
            $$$"""{"status":{"session":{"status":"running","succeeded":"none","job":""},"artifacts":[{{{artifact}}}]}}""");
        Assert.Equal("complete", (string?)session!["status"]!["session"]!["status"]);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Equal("cfs-1", (string?)session["status"]!["session"]!["job"]);
        Assert.Single(session["status"]!["artifacts"]!.AsArray());
        (_, session) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v2/sessions/example", """{"status":{"session":{"succeeded":"true"}}}""");
        Assert.Equal("true", (string?)session!["status"]!["session"]!["succeeded"]);
    }

    [Fact]
    public async Task V3JobIsSetOnceAndV2DoesNotCheck()
    {
        await server.SendAsync(HttpMethod.Post, "/apis/cfs/v2/sessions", SeedBody());
        var (status, _) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/sessions/example", """{"status":{"session":{"job":"cfs-1"}}}""");
        Assert.Equal(200, status);
        (status, var problem) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/sessions/example", """{"status":{"session":{"job":"cfs-1"}}}""");
        Assert.Equal(409, status);
        Assert.Equal("Session patch conflict.", (string?)problem!["title"]);
        (status, _) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v2/sessions/example", """{"status":{"session":{"job":"cfs-2"}}}""");
        Assert.Equal(200, status);
        (status, problem) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/sessions/example", """{"name":"other"}""");
        Assert.Equal(400, status);
        Assert.Equal("Only status can be updated after session creation", (string?)problem!["detail"]);
    }

    [Fact]
    public async Task ListFiltersAndTags()
    {
        await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", """{"name":"batcher-1","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]},"tags":{"bos_session":"b1"}}""");
        await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", """{"name":"batcher-2","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]},"tags":{"bos_session":"b2"}}""");
        await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", """{"name":"manual","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]}}""");
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/sessions/batcher-2", """{"status":{"session":{"status":"complete","succeeded":"true"}}}""");

        async Task<string[]> Names(string query)
        {
            var (status, list) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions" + query);
            Assert.Equal(200, status);
            return list!["sessions"]!.AsArray().Select(session => (string)session!["name"]!).ToArray();
        }
        Assert.Equal(["batcher-1", "batcher-2"], await Names("?name_contains=batcher-"));
        Assert.Equal(["batcher-2"], await Names("?status=complete"));
        Assert.Equal(["batcher-2"], await Names("?succeeded=true"));
        Assert.Equal(["batcher-1"], await Names("?tags=bos_session=b1"));
        Assert.Equal(["batcher-1", "batcher-2", "manual"], await Names("?status="));
        Assert.Equal(["batcher-1", "batcher-2", "manual"], await Names("?max_age=1h"));
        Assert.Empty(await Names("?min_age=1h"));
        var (badTags, problem) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions?tags=nokey");
        Assert.Equal(400, badTags);
        Assert.Equal("Error parsing the tags provided.", (string?)problem!["title"]);
        var (badAge, _) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions?min_age=soon");
        Assert.Equal(400, badAge);
        var (badStatus, _) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/sessions?status=done");
        Assert.Equal(400, badStatus);
        var (_, v2) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/sessions?age=1h");
        Assert.Empty(v2!.AsArray());
    }

    [Fact]
    public async Task DeleteManyDefaultsToCompleteSessions()
    {
        foreach (var name in new[] { "a", "b", "c" })
        {
            await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", $$$"""{"name":"{{{name}}}","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]}}""");
        }
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/sessions/b", """{"status":{"session":{"status":"complete"}}}""");
        var (status, deleted) = await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/sessions");
        Assert.Equal(200, status);
        Assert.Equal(["b"], deleted!["session_ids"]!.AsArray().Select(name => (string)name!));
        (status, _) = await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v2/sessions?status=pending&name_contains=a");
        Assert.Equal(204, status);
        Assert.Equal(1, await CountAsync());
        (status, deleted) = await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/sessions?status=");
        Assert.Equal(["c"], deleted!["session_ids"]!.AsArray().Select(name => (string)name!));
        (status, _) = await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/sessions/c");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task ReleaseEndsAHoldThroughTheStoreAndIsA409ForASessionNotHolding()
    {
        Assert.Equal(201, (await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions",
            """{"name":"held","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]},"debug_on_failure":true}""")).Status);
        Assert.Equal(201, (await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions", """{"name":"plain","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]}}""")).Status);

        var (notYet, problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions/held/release");
        Assert.Equal(409, notYet);
        Assert.StartsWith("Session held is not holding for debugging", (string?)problem!["detail"]);
        var (never, neverProblem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions/plain/release");
        Assert.Equal(409, never);
        Assert.Equal("Session plain was not created with debug_on_failure, so it never holds for debugging.", (string?)neverProblem!["detail"]);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions/missing/release")).Status);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Post, "/apis/cfs/v2/sessions/held/release")).Status);

        // What a runner (on any server) writes when the hold begins, then reads while it holds.
        var sessions = server.Services.GetRequiredService<SessionService>();
        await sessions.UpdateAsync("held", session => session with { DebugHold = new DebugHold(DateTimeOffset.UtcNow.AddHours(1), Released: false) }, CancellationToken.None);
        var (released, shaped) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions/held/release");
        Assert.Equal(200, released);
        Assert.Equal("held", (string?)shaped!["name"]);
        Assert.Null(shaped["debug_hold"]);
        Assert.True((await sessions.GetAsync("held", CancellationToken.None)).DebugHold!.Released);
    }
}
