using System.Text.Json.Nodes;
using Cray.Cfs.LayerCache;
using Cray.Cfs.Options;
using Cray.Cfs.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Cfs.Api;

/// <summary>
/// Ours, v3 only: the layer cache that image sessions reuse layers from. List and describe its
/// entries, delete one, or prune (every entry, those unused for a while, or down to the size limit).
/// </summary>
public static class LayerCacheApi
{
    public static RouteGroupBuilder MapLayerCacheApi(this RouteGroupBuilder group)
    {
        group.MapGet("/cache", async (LayerCacheService cache, OptionsService options, CancellationToken cancellationToken) =>
        {
            var entries = await cache.ListAsync(cancellationToken);
            var settings = await options.GetAsync(cancellationToken);
            return CfsApi.Json(new JsonObject
            {
                ["enabled"] = settings["layer_cache"]?.DeepClone(),
                ["size_limit_bytes"] = OptionsService.LayerCacheSizeLimitBytes(settings),
                ["total_bytes"] = entries.Sum(entry => entry.Size),
                ["entries"] = CfsApi.Node(entries),
            });
        });

        group.MapGet("/cache/{key}", async (string key, LayerCacheService cache, CancellationToken cancellationToken)
            => CfsApi.Json(CfsApi.Node(await cache.FindAsync(key, cancellationToken) ?? throw NotFound(key))))
            .Produces<LayerCacheEntry>();

        group.MapDelete("/cache/{key}", async (string key, LayerCacheService cache, CancellationToken cancellationToken) =>
        {
            if (!await cache.DeleteAsync(key, cancellationToken))
            {
                throw NotFound(key);
            }
            return Results.NoContent();
        });

        group.MapPost("/cache/prune", async (HttpRequest request, LayerCacheService cache, OptionsService options, CancellationToken cancellationToken) =>
        {
            var body = SchemaReader.Of(await CfsApi.ReadBodyAsync(request, cancellationToken) ?? new JsonObject(), "");
            body.Only(["all", "unused_for"]);
            var all = body.Boolean("all") ?? false;
            var unusedFor = SessionRequests.ParseAge(body.String("unused_for", nullable: true));
            var settings = await options.GetAsync(cancellationToken);
            // Without a choice, a prune brings the cache within its size limit, as each session that adds to it does.
            var limit = all || unusedFor is not null ? (long?)null : OptionsService.LayerCacheSizeLimitBytes(settings);
            return CfsApi.Json(CfsApi.Node(await cache.PruneAsync(all, unusedFor, limit, LayerCacheService.OrphanGrace(settings), cancellationToken)));
        }).Produces<LayerCachePruning>();
        return group;
    }

    private static Platform.Problems.ProblemException NotFound(string key)
        => CfsProblems.NotFound("Layer not found", $"The layer cache has no entry with key {key}.");
}
