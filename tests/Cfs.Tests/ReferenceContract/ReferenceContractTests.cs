using System.Text;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Cray.Cfs.Tests.ReferenceContract;

/// <summary>
/// Every IMS and CFS operation we serve, called as a client would, with each answer checked against the
/// response schema of the reference's own OpenAPI documents (../shared/reference/openapi). Run by
/// ./test.sh when that folder is there; deliberate deviations are listed below with their reasons.
/// </summary>
[Trait("Category", "ReferenceContract")]
public sealed class ReferenceContractTests : IDisposable
{
    private const string Ims = "ims";
    private const string Cfs = "cfs";
    private const string PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX user@host";

    /// <summary>Operations of the reference we do not serve, and why.</summary>
    private static readonly Dictionary<string, string> NotServed = new();

    /// <summary>
    /// Where we answer otherwise than the reference's documents say, the documents are corrected before
    /// the check, each for a stated reason (docs/decisions.md, "The reference's OpenAPI documents").
    /// Most follow the reference's own server where it disagrees with its documents.
    /// </summary>
    private static readonly Correction[] Corrections =
    [
        new(Ims, "GET /version answers {\"version\": \"x.y.z\"} as the reference's server does; its document says a bare string",
            Replace("/paths/~1version/get/responses/200/content/application~1json/schema",
                """{"type":"object","properties":{"version":{"type":"string"}},"required":["version"],"additionalProperties":false}""")),
        new(Ims, "errors are application/problem+json as the reference's server sends them; its document says application/json", ProblemDetailsMediaType),
        new(Ims, "an image's or recipe's link is null until one is set, as the reference's server answers",
            Nullable("/components/schemas/ImageRecord/properties/link", "/components/schemas/RecipeRecord/properties/link",
                "/components/schemas/DeletedImageRecord/properties/link", "/components/schemas/DeletedRecipeRecord/properties/link")),
        new(Ims, "a job's resultant_image_id is null until it has a result, as the reference's server answers",
            Nullable("/components/schemas/JobRecord/properties/resultant_image_id")),
        new(Ims, "our own: jobs run without Kubernetes, so the kubernetes_* fields are present and null",
            Nullable("/components/schemas/JobRecord/properties/kubernetes_job", "/components/schemas/JobRecord/properties/kubernetes_service",
                "/components/schemas/JobRecord/properties/kubernetes_configmap", "/components/schemas/JobRecord/properties/kubernetes_namespace")),
        new(Ims, "GET /v3/remote-build-nodes/status/{xname} answers one status object, as the reference's server does; its document says an array",
            Replace("/paths/~1v3~1remote-build-nodes~1status~1{remote_build_node_xname}/get/responses/200/content/application~1json/schema",
                """{"$ref":"#/components/schemas/RemoteBuildNodeStatus"}""")),
        new(Cfs, "a session's image_map, job, ims_job and completion_time are null until set, as the reference's server answers",
            Nullable("/components/schemas/SessionTargetSection/properties/image_map", "/components/schemas/V2SessionStatusSessionSection/properties/job",
                "/components/schemas/V3SessionStatusSessionSection/properties/job", "/components/schemas/V3SessionStatusSessionSection/properties/ims_job",
                "/components/schemas/V3SessionStatusSessionSection/properties/completion_time")),
    ];

    private sealed record Correction(string Service, string Reason, Action<JsonObject> Apply);

    private static Action<JsonObject> Nullable(params string[] pointers)
        => root => Array.ForEach(pointers, pointer => OpenApiDocument.At(root, pointer)["nullable"] = true);

    private static Action<JsonObject> Replace(string pointer, string schema)
        => root =>
        {
            var node = OpenApiDocument.At(root, pointer);
            node.Parent!.AsObject()[node.GetPropertyName()] = JsonNode.Parse(schema);
        };

    /// <summary>Every documented body whose schema is ProblemDetails is served as application/problem+json.</summary>
    private static void ProblemDetailsMediaType(JsonObject root)
    {
        var responses = (root["components"]?["responses"]?.AsObject().Select(pair => pair.Value) ?? [])
            .Concat(root["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject())
                .Select(operation => operation.Value).OfType<JsonObject>()
                .SelectMany(operation => operation["responses"]?.AsObject().Select(pair => pair.Value) ?? []));
        foreach (var content in responses.Select(response => response?["content"]).OfType<JsonObject>())
        {
            if (content["application/json"]?["schema"]?["$ref"] is JsonValue reference && ((string)reference!).EndsWith("/ProblemDetails", StringComparison.Ordinal))
            {
                var body = content["application/json"];
                content.Remove("application/json");
                content["application/problem+json"] = body;
            }
        }
    }

    private readonly CfsTestServer server = new();
    private readonly Dictionary<string, OpenApiDocument> documents = new();
    private readonly List<Observation> observations = [];

    public ReferenceContractTests()
    {
        var folder = ReferenceFolder();
        foreach (var service in new[] { Ims, Cfs })
        {
            documents[service] = OpenApiDocument.Load(Path.Combine(folder, $"{service}-openapi.yaml"),
                Corrections.Where(correction => correction.Service == service).Select(correction => correction.Apply));
        }
    }

    public void Dispose() => server.Dispose();

    private sealed record Observation(string Operation, int Status, IReadOnlyList<string> Problems);

    /// <summary>CRAY_REFERENCE_OPENAPI, else ../shared/reference/openapi beside the repository.</summary>
    private static string ReferenceFolder()
    {
        if (Environment.GetEnvironmentVariable("CRAY_REFERENCE_OPENAPI") is { Length: > 0 } configured)
        {
            return configured;
        }
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cray.slnx")))
            {
                var folder = Path.Combine(directory.FullName, "..", "shared", "reference", "openapi");
                if (Directory.Exists(folder))
                {
                    return folder;
                }
                break;
            }
        }
        throw new InvalidOperationException("The reference's OpenAPI documents were not found: set CRAY_REFERENCE_OPENAPI to their folder (./test.sh runs this check only when ../shared/reference/openapi exists).");
    }

    [Fact]
    public async Task EveryServedOperationAnswersAsTheReferenceSchemaSays()
    {
        await ImsScenarioAsync();
        await CfsScenarioAsync();

        var failures = new List<string>();
        foreach (var (service, document) in documents)
        {
            foreach (var (method, template) in document.Operations)
            {
                var operation = $"{service} {method} {template}";
                var served = observations.Any(observation => observation.Operation == operation && observation.Status is >= 200 and < 300);
                if (NotServed.ContainsKey(operation) == served)
                {
                    failures.Add(served ? $"{operation}: listed as not served, but answered" : $"{operation}: never answered with success by this scenario");
                }
            }
        }
        failures.AddRange(observations
            .SelectMany(observation => observation.Problems.Select(problem => $"{observation.Operation} {observation.Status}: {problem}"))
            .Distinct());
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    private async Task ImsScenarioAsync()
    {
        await Call(200, Ims, "GET", "/version");
        await Call(200, Ims, "GET", "/healthz/ready");
        await Call(200, Ims, "GET", "/healthz/live");

        foreach (var version in new[] { "v2", "v3" })
        {
            var key = await Create(Ims, $"/{version}/public-keys", $$"""{"name":"key-{{version}}","public_key":"{{PublicKey}}"}""", "id");
            await Call(200, Ims, "GET", $"/{version}/public-keys");
            await Call(200, Ims, "GET", $"/{version}/public-keys/{{public_key_id}}", [key]);
            await Call(404, Ims, "GET", $"/{version}/public-keys/{{public_key_id}}", ["00000000-0000-0000-0000-000000000000"]);
            await Call(422, Ims, "POST", $"/{version}/public-keys", body: """{"name":"no key"}""");

            var image = await Create(Ims, $"/{version}/images", """{"name":"base","metadata":{"site":"test"}}""", "id");
            var manifest = await server.UploadImageFilesAsync(image);
            await Call(200, Ims, "PATCH", $"/{version}/images/{{image_id}}", [image], $$"""{"link":{"type":"s3","path":"{{manifest}}"},"arch":"x86_64"}""");
            await Call(200, Ims, "GET", $"/{version}/images");
            await Call(200, Ims, "GET", $"/{version}/images/{{image_id}}", [image]);
            await Call(404, Ims, "GET", $"/{version}/images/{{image_id}}", ["00000000-0000-0000-0000-000000000000"]);
            await Call(422, Ims, "POST", $"/{version}/images", body: """{"name":"x","arch":"sparc"}""");

            var recipe = await Create(Ims, $"/{version}/recipes",
                """{"name":"compute","recipe_type":"kiwi-ng","linux_distribution":"sles15","template_dictionary":[{"key":"release","value":"1.6"}]}""", "id");
            await Call(200, Ims, "PATCH", $"/{version}/recipes/{{recipe_id}}", [recipe], """{"arch":"aarch64"}""");
            await Call(200, Ims, "GET", $"/{version}/recipes");
            await Call(200, Ims, "GET", $"/{version}/recipes/{{recipe_id}}", [recipe]);

            var job = await Create(Ims, $"/{version}/jobs",
                $$"""{"job_type":"customize","artifact_id":"{{image}}","public_key_id":"{{key}}","image_root_archive_name":"result"}""", "id");
            await Call(200, Ims, "GET", $"/{version}/jobs");
            await Call(200, Ims, "GET", $"/{version}/jobs/{{job_id}}", [job]);
            await Call(200, Ims, "PATCH", $"/{version}/jobs/{{job_id}}", [job], """{"status":"fetching_image"}""");
            await Call(204, Ims, "DELETE", $"/{version}/jobs/{{job_id}}", [job]);
            await Create(Ims, $"/{version}/jobs",
                $$"""{"job_type":"customize","artifact_id":"{{image}}","public_key_id":"{{key}}","image_root_archive_name":"result"}""", "id");
            await Call(204, Ims, "DELETE", $"/{version}/jobs");

            await Call(204, Ims, "DELETE", $"/{version}/images/{{image_id}}", [image]);
            await Call(204, Ims, "DELETE", $"/{version}/recipes/{{recipe_id}}", [recipe]);
            await Call(204, Ims, "DELETE", $"/{version}/public-keys/{{public_key_id}}", [key]);
            if (version == "v3")
            {
                await DeletedScenarioAsync("images", "deleted_image_id", image);
                await DeletedScenarioAsync("recipes", "recipe_id", recipe);
                await DeletedScenarioAsync("public-keys", "deleted_public_key_id", key);
                await RemoteBuildNodesScenarioAsync();
            }
            await Call(204, Ims, "DELETE", $"/{version}/images");
            await Call(204, Ims, "DELETE", $"/{version}/recipes");
            await Call(204, Ims, "DELETE", $"/{version}/public-keys");
        }
    }

    private async Task RemoteBuildNodesScenarioAsync()
    {
        await Call(201, Ims, "POST", "/v3/remote-build-nodes", body: """{"xname":"x3000c0s1b0n0"}""");
        await Call(422, Ims, "POST", "/v3/remote-build-nodes", body: """{"xname":"../x"}""");
        await Call(200, Ims, "GET", "/v3/remote-build-nodes");
        await Call(200, Ims, "GET", "/v3/remote-build-nodes/{remote_build_node_xname}", ["x3000c0s1b0n0"]);
        await Call(200, Ims, "GET", "/v3/remote-build-nodes/status");
        await Call(200, Ims, "GET", "/v3/remote-build-nodes/status/{remote_build_node_xname}", ["x3000c0s1b0n0"]);
        await Call(204, Ims, "DELETE", "/v3/remote-build-nodes/{remote_build_node_xname}", ["x3000c0s1b0n0"]);
        await Call(404, Ims, "DELETE", "/v3/remote-build-nodes/{remote_build_node_xname}", ["x3000c0s1b0n0"]);
        await Call(204, Ims, "DELETE", "/v3/remote-build-nodes");
    }

    /// <summary>A soft-deleted record: listed, described, restored one by one and all at once, and purged.</summary>
    private async Task DeletedScenarioAsync(string kind, string parameter, string id)
    {
        await Call(200, Ims, "GET", $"/v3/deleted/{kind}");
        await Call(200, Ims, "GET", $"/v3/deleted/{kind}/{{{parameter}}}", [id]);
        await Call(204, Ims, "PATCH", $"/v3/deleted/{kind}/{{{parameter}}}", [id], """{"operation":"undelete"}""");
        await Call(204, Ims, "DELETE", $"/v3/{kind}");
        await Call(204, Ims, "PATCH", $"/v3/deleted/{kind}", body: """{"operation":"undelete"}""");
        await Call(204, Ims, "DELETE", $"/v3/{kind}");
        await Call(204, Ims, "DELETE", $"/v3/deleted/{kind}/{{{parameter}}}", [id]);
        await Call(404, Ims, "GET", $"/v3/deleted/{kind}/{{{parameter}}}", [id]);
        await Call(204, Ims, "DELETE", $"/v3/deleted/{kind}");
    }

    private async Task CfsScenarioAsync()
    {
        await Call(200, Cfs, "GET", "/");
        await Call(200, Cfs, "GET", "/versions");
        await Call(200, Cfs, "GET", "/healthz");
        await Call(200, Cfs, "GET", "/v2");
        await Call(200, Cfs, "GET", "/v3");
        await Call(200, Cfs, "GET", "/v2/options");
        await Call(200, Cfs, "GET", "/v3/options");
        await Call(200, Cfs, "PATCH", "/v2/options", body: """{"sessionTTL":"7d"}""");
        await Call(200, Cfs, "PATCH", "/v3/options", body: """{"session_ttl":"7d","default_page_size":500}""");
        await Call(400, Cfs, "PATCH", "/v3/options", body: """{"default_page_size":"many"}""");

        var commit = await server.CommitAsync("site.yml", "- hosts: all\n");
        var image = await Create(Ims, "/v3/images", """{"name":"target"}""", "id");
        await Call(200, Cfs, "PUT", "/v3/configurations/{configuration_id}", ["compute"],
            $$"""{"description":"compute nodes","layers":[{"name":"base","clone_url":"{{server.Repository}}","branch":"main","playbook":"site.yml"}]}""");
        await Call(200, Cfs, "PUT", "/v2/configurations/{configuration_id}", ["compute-v2"],
            $$"""{"layers":[{"name":"base","cloneUrl":"{{server.Repository}}","commit":"{{commit}}","playbook":"site.yml"}]}""");
        foreach (var version in new[] { "v2", "v3" })
        {
            await Call(200, Cfs, "GET", $"/{version}/configurations");
            await Call(200, Cfs, "GET", $"/{version}/configurations/{{configuration_id}}", ["compute"]);
            await Call(200, Cfs, "PATCH", $"/{version}/configurations/{{configuration_id}}", ["compute"]);
            await Call(404, Cfs, "GET", $"/{version}/configurations/{{configuration_id}}", ["missing"]);

            var name = $"session-{version}";
            var configurationKey = version == "v2" ? "configurationName" : "configuration_name";
            var sessionBody = new JsonObject
            {
                ["name"] = name,
                [configurationKey] = "compute",
                ["target"] = new JsonObject
                {
                    ["definition"] = "image",
                    ["groups"] = new JsonArray(new JsonObject { ["name"] = "Compute", ["members"] = new JsonArray(image) }),
                },
            }.ToJsonString();
            await Call(version == "v2" ? 200 : 201, Cfs, "POST", $"/{version}/sessions", body:
                sessionBody);
            await Call(409, Cfs, "POST", $"/{version}/sessions", body:
                sessionBody);
            await Call(200, Cfs, "GET", $"/{version}/sessions");
            await Call(200, Cfs, "GET", $"/{version}/sessions/{{session_name}}", [name]);
            await Call(404, Cfs, "GET", $"/{version}/sessions/{{session_name}}", ["missing"]);
            await Call(200, Cfs, "PATCH", $"/{version}/sessions/{{session_name}}", [name],
                version == "v2" ? """{"status":{"session":{"status":"complete","succeeded":"true"}}}""" : """{"status":{"session":{"status":"complete","succeeded":"true"}}}""");
            await Call(204, Cfs, "DELETE", $"/{version}/sessions/{{session_name}}", [name]);
            await Call(version == "v2" ? 200 : 201, Cfs, "POST", $"/{version}/sessions", body:
                sessionBody);
            await Call(version == "v2" ? 204 : 200, Cfs, "DELETE", $"/{version}/sessions", query: "?status=pending");

            var desired = version == "v2" ? "desiredConfig" : "desired_config";
            await Call(200, Cfs, "PUT", $"/{version}/components/{{component_id}}", ["x3000c0s1b0n0"], $$"""{"{{desired}}":"compute","enabled":true}""");
            await Call(200, Cfs, "GET", $"/{version}/components");
            await Call(200, Cfs, "GET", $"/{version}/components/{{component_id}}", ["x3000c0s1b0n0"]);
            await Call(404, Cfs, "GET", $"/{version}/components/{{component_id}}", ["x3000c0s9b0n0"]);
            await Call(200, Cfs, "PATCH", $"/{version}/components/{{component_id}}", ["x3000c0s1b0n0"], """{"enabled":false}""");
            await Call(200, Cfs, "PUT", $"/{version}/components", body: $$"""[{"id":"x3000c0s2b0n0","{{desired}}":"compute"}]""");
            await Call(200, Cfs, "PATCH", $"/{version}/components", body: """{"patch":{"enabled":true},"filters":{"ids":"x3000c0s1b0n0,x3000c0s2b0n0"}}""");
            await Call(204, Cfs, "DELETE", $"/{version}/components/{{component_id}}", ["x3000c0s1b0n0"]);
            await Call(204, Cfs, "DELETE", $"/{version}/components/{{component_id}}", ["x3000c0s2b0n0"]);
        }
        await Call(204, Cfs, "DELETE", "/v3/configurations/{configuration_id}", ["compute-v2"]);
        await Call(204, Cfs, "DELETE", "/v2/configurations/{configuration_id}", ["compute"]);

        var source = new JsonObject
        {
            ["name"] = "vcs",
            ["clone_url"] = $"file://{server.Repository}",
            ["credentials"] = new JsonObject { ["authentication_method"] = "password", ["username"] = "vcs-user", ["password"] = "secret" },
        }.ToJsonString();
        var secret = await Create(Cfs, "/v3/sources", source, "credentials", "secret_name");
        await Call(409, Cfs, "POST", "/v3/sources", body: source);
        await Call(200, Cfs, "GET", "/v3/sources");
        await Call(200, Cfs, "GET", "/v3/sources/{source_id}", ["vcs"]);
        await Call(404, Cfs, "GET", "/v3/sources/{source_id}", ["missing"]);
        await Call(200, Cfs, "PATCH", "/v3/sources/{source_id}", ["vcs"], """{"description":"the site's repository"}""");
        await Call(201, Cfs, "POST", "/v3/sources/{source_id}", ["restored"],
            $$$"""{"clone_url":"file://{{{server.Repository}}}","credentials":{"authentication_method":"password","secret_name":"{{{secret}}}"}}""");
        await Call(204, Cfs, "DELETE", "/v3/sources/{source_id}", ["restored"]);
        await Call(204, Cfs, "DELETE", "/v3/sources/{source_id}", ["vcs"]);
    }

    /// <summary>POSTs and returns a field of the created record.</summary>
    private async Task<string> Create(string service, string template, string body, params string[] field)
    {
        var created = await Call(template.EndsWith("/sessions", StringComparison.Ordinal) && template.StartsWith("/v2", StringComparison.Ordinal) ? 200 : 201,
            service, "POST", template, body: body);
        var value = field.Aggregate(created, (node, key) => node?[key]);
        return (string?)value ?? throw new InvalidOperationException($"POST {template} answered without {string.Join('.', field)}: {created?.ToJsonString()}");
    }

    /// <summary>Calls one operation, records whether the answer matched what the reference documents, and returns its body.</summary>
    private async Task<JsonNode?> Call(int expected, string service, string method, string template, string[]? values = null, string? body = null, string query = "")
    {
        var path = template;
        foreach (var value in values ?? [])
        {
            var start = path.IndexOf('{', StringComparison.Ordinal);
            path = path[..start] + Uri.EscapeDataString(value) + path[(path.IndexOf('}', start) + 1)..];
        }
        using var client = server.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), $"/apis/{service}{path}{query}");
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var status = (int)response.StatusCode;
        var problems = new List<string>();
        if (status != expected)
        {
            problems.Add($"the scenario expected {expected}, the server answered {status}: {text}");
        }
        JsonNode? answer = null;
        try
        {
            answer = text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException exception)
        {
            problems.Add($"the body is not JSON ({exception.Message})");
        }
        var documented = documents[service].Response(method, template, status);
        if (documented is null)
        {
            problems.Add($"status {status} is not documented");
        }
        else
        {
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (documented.MediaType is not null && mediaType != documented.MediaType)
            {
                problems.Add($"Content-Type is {mediaType ?? "absent"}, documented {documented.MediaType}");
            }
            if (documented.Schema is not null)
            {
                problems.AddRange(SchemaErrors(documented.Schema, answer));
            }
        }
        observations.Add(new Observation($"{service} {method} {template}", status, problems));
        return answer;
    }

    private static IEnumerable<string> SchemaErrors(JsonSchema schema, JsonNode? answer)
    {
        var results = schema.Evaluate(answer, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }
        return results.Details
            .Where(detail => detail.HasErrors)
            .SelectMany(detail => detail.Errors!.Select(error => $"at '{detail.InstanceLocation}' ({detail.EvaluationPath}): {error.Value}"))
            .DefaultIfEmpty("does not match the schema");
    }
}
