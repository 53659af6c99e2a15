using System.Text.Json.Nodes;

namespace Cray.Cfs.Tests;

/// <summary>The host's own endpoints: /metrics (Prometheus text), /openapi/v1.json and /healthz.</summary>
public sealed class ServerEndpointsTests : IAsyncLifetime
{
    private readonly CfsTestServer server = new();

    public Task InitializeAsync() => server.PutConfigurationAsync();

    public Task DisposeAsync()
    {
        server.Dispose();
        return Task.CompletedTask;
    }

    private async Task<string> GetTextAsync(string path)
    {
        using var client = server.CreateClient();
        using var response = await client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode}");
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task MetricsCountWhatTheStoreHoldsAndTheRequestsServed()
    {
        var (status, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sessions",
            """{"name":"m1","configuration_name":"configurations-example","target":{"definition":"spec","groups":[{"name":"g","members":["x1"]}]}}""");
        Assert.Equal(201, status);

        var metrics = await GetTextAsync("/metrics");
        Assert.Contains("cray_cfs_sessions{status=\"pending\",succeeded=\"none\"} 1", metrics);
        Assert.Contains("cray_ims_images 0", metrics);
        Assert.Contains("# TYPE cray_ims_jobs gauge", metrics);
        Assert.Matches("http_requests_received_total\\{[^}]*endpoint=\"/apis/cfs/v3/sessions\"[^}]*\\} 1", metrics);
        Assert.Contains("process_working_set_bytes", metrics);

        await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/sessions/m1");
        Assert.Contains("cray_cfs_sessions{status=\"pending\",succeeded=\"none\"} 0", await GetTextAsync("/metrics"));
    }

    [Fact]
    public async Task TheRunnersAndWorkersMeasurementsAreExported()
    {
        _ = await GetTextAsync("/healthz");
        Cray.Cfs.Runner.SessionMetrics.Completed.Add(1, new KeyValuePair<string, object?>("succeeded", "true"));
        Cray.Cfs.Runner.SessionMetrics.PhaseDuration.Record(1.5, new KeyValuePair<string, object?>("phase", "layer"));
        Cray.Ims.Worker.JobMetrics.PhaseDuration.Record(0.5, new KeyValuePair<string, object?>("phase", "packaging_artifacts"));
        var metrics = await GetTextAsync("/metrics");
        Assert.Matches("cray_cfs_sessions_completed_total\\{succeeded=\"true\"\\} [1-9]", metrics);
        Assert.Matches("cray_cfs_session_phase_duration_seconds_count\\{phase=\"layer\"\\} [1-9]", metrics);
        Assert.Matches("cray_ims_job_phase_duration_seconds_sum\\{phase=\"packaging_artifacts\"\\} [0-9.]+", metrics);
    }

    [Fact]
    public async Task TheOpenApiDocumentListsEveryServicesRoutes()
    {
        var document = JsonNode.Parse(await GetTextAsync("/openapi/v1.json"))!;
        Assert.StartsWith("3.", (string?)document["openapi"]);
        var paths = document["paths"]!.AsObject().Select(pair => pair.Key).ToList();
        foreach (var path in new[] { "/apis/cfs/v3/sessions", "/apis/cfs/v2/sessions/{session_name}", "/apis/ims/v3/images/{id}", "/apis/ims/jobs", "/apis/artifacts/{bucket}" })
        {
            Assert.Contains(path, paths);
        }
        Assert.NotNull(document["paths"]!["/apis/cfs/v3/sessions"]!["post"]);
    }

    [Theory]
    [InlineData("/apis/ims/v3/images/{id}", "get", "200", "link")]
    [InlineData("/apis/ims/jobs", "post", "201", "ssh_containers")]
    [InlineData("/apis/ims/v3/deleted/recipes", "get", "200", "deleted")]
    [InlineData("/apis/cfs/v3/configurations/{configuration_id}", "get", "200", "additional_inventory")]
    [InlineData("/apis/cfs/v3/sources/{source_id}", "get", "200", "ca_cert")]
    public async Task TheOpenApiDocumentDescribesTypedAnswers(string path, string method, string status, string property)
    {
        var document = JsonNode.Parse(await GetTextAsync("/openapi/v1.json"))!;
        var schema = document["paths"]![path]![method]!["responses"]![status]!["content"]!["application/json"]!["schema"]!;
        Assert.Contains(property, Resolve(document, schema).ToJsonString());
    }

    /// <summary>The schema, with a $ref (or an array's item $ref) replaced by the component it names.</summary>
    private static JsonNode Resolve(JsonNode document, JsonNode schema)
    {
        var reference = (string?)schema["$ref"] ?? (string?)schema["items"]?["$ref"];
        return reference is null ? schema : document["components"]!["schemas"]![reference.Split('/')[^1]]!;
    }

    [Fact]
    public async Task HealthNamesTheRoles()
    {
        var health = JsonNode.Parse(await GetTextAsync("/healthz"))!;
        Assert.Equal("ok", (string?)health["status"]);
        Assert.Equal(["api"], health["roles"]!.AsArray().Select(role => (string)role!));
    }
}
