using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Platform.Json;
using Cray.Platform.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Cfs.Api;

/// <summary>CFS under /apis/cfs: the v2 and v3 route groups over one store, versions and health.</summary>
public static class CfsApi
{
    public const string BasePath = "/apis/cfs";

    public static IEndpointRouteBuilder MapCfsApi(this IEndpointRouteBuilder routes)
    {
        var root = routes.MapGroup(BasePath);
        foreach (var path in new[] { "/", "/versions", "/v2", "/v3" })
        {
            root.MapGet(path, () => Json(Version()));
        }
        root.MapGet("/healthz", async (IRecordStore store, CancellationToken cancellationToken) =>
        {
            try
            {
                await store.GetAsync<JsonObject>(Model.CfsCollections.Options, "options", cancellationToken);
                return Json(new JsonObject { ["db_status"] = "ok", ["kafka_status"] = "ok" });
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                return Json(new JsonObject { ["db_status"] = "not_available", ["kafka_status"] = "ok" }, StatusCodes.Status503ServiceUnavailable);
            }
        });
        foreach (var (prefix, version) in new[] { ("/v2", CfsApiVersion.V2), ("/v3", CfsApiVersion.V3) })
        {
            var group = root.MapGroup(prefix);
            group.MapSessionsApi(version);
            group.MapConfigurationsApi(version);
            group.MapOptionsApi(version);
            group.MapComponentsApi(version);
            if (version == CfsApiVersion.V3)
            {
                group.MapSourcesApi();
                group.MapLayerCacheApi();
            }
        }
        return routes;
    }

    /// <summary>As connexion answers: problems of type about:blank; text that does not parse is a 400 that says so.</summary>
    public static readonly JsonBodyStyle BodyStyle = new(CfsProblems.AboutBlank, UnparsableIsEmpty: false);

    internal static IResult Json(JsonNode node, int statusCode = StatusCodes.Status200OK)
        => Results.Text(node.ToJsonString(RecordJson.Options), "application/json", statusCode: statusCode);

    /// <summary>A typed record as the JSON node that a response body is built from.</summary>
    internal static JsonNode Node<T>(T value) => JsonSerializer.SerializeToNode(value, RecordJson.Options)!;

    /// <summary>Reads a JSON object body; an empty body, or JSON that is not an object, is null, which the schema then rejects. Malformed JSON is a 400 (415 for another Content-Type).</summary>
    internal static async Task<JsonNode?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
        => await JsonBodies.ReadObjectAsync(request, BodyStyle, cancellationToken);

    /// <summary>Reads a JSON body that may be a list (bulk component writes) or an object.</summary>
    internal static async Task<JsonNode?> ReadListOrObjectAsync(HttpRequest request, CancellationToken cancellationToken)
        => await JsonBodies.ReadAsync(request, BodyStyle, cancellationToken);

    internal static string? Query(HttpRequest request, string name)
        => request.Query.TryGetValue(name, out var values) ? values.ToString() : null;

    private static JsonObject Version()
    {
        var text = Platform.ProductVersion.Of(typeof(CfsApi).Assembly) ?? "1.0.0";
        var parts = text.Split('.');
        return new JsonObject
        {
            ["major"] = parts.ElementAtOrDefault(0) ?? "1",
            ["minor"] = parts.ElementAtOrDefault(1) ?? "0",
            ["patch"] = parts.ElementAtOrDefault(2) ?? "0",
        };
    }
}
