using System.Text.Json.Nodes;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Cfs.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Cfs.Api;

/// <summary>v3 sources. A source's name defaults to its clone URL, so clients encode it twice and it is decoded once more here.</summary>
public static class SourcesApi
{
    public static RouteGroupBuilder MapSourcesApi(this RouteGroupBuilder group)
    {
        group.MapGet("/sources", async (HttpRequest request, SourceService sources, OptionsService options, CancellationToken cancellationToken) =>
        {
            var inUseText = CfsApi.Query(request, "in_use");
            bool? inUse = string.IsNullOrEmpty(inUseText) ? null : ConfigurationsApi.ParseBoolean(inUseText, "in_use");
            var used = inUse is null ? null : await sources.InUseAsync(cancellationToken);
            var limit = Paging.ParseLimit(CfsApi.Query(request, "limit")) ?? OptionsService.PageSize(await options.GetAsync(cancellationToken));
            var afterId = CfsApi.Query(request, "after_id");
            var (page, more) = await Paging.PageAsync(sources.ScanAsync(string.IsNullOrEmpty(afterId) ? null : afterId, cancellationToken),
                source => inUse is null || used!.Contains(source.Name) == inUse, limit, cancellationToken);
            return CfsApi.Json(new JsonObject
            {
                ["next"] = more ? new JsonObject { ["in_use"] = inUse, ["limit"] = limit, ["after_id"] = page[^1].Name } : null,
                ["sources"] = CfsApi.Node(page),
            });
        });

        group.MapPost("/sources", async (HttpRequest request, SourceService sources, CancellationToken cancellationToken)
            => CfsApi.Json(CfsApi.Node(await sources.CreateAsync(await CfsApi.ReadBodyAsync(request, cancellationToken), cancellationToken)), StatusCodes.Status201Created))
            .Produces<SourceRecord>(StatusCodes.Status201Created);

        group.MapGet("/sources/{source_id}", async (string source_id, SourceService sources, CancellationToken cancellationToken)
            => CfsApi.Json(CfsApi.Node(await sources.GetAsync(Decode(source_id), cancellationToken))))
            .Produces<SourceRecord>();

        group.MapPost("/sources/{source_id}", async (string source_id, HttpRequest request, SourceService sources, CancellationToken cancellationToken)
            => CfsApi.Json(CfsApi.Node(await sources.RestoreAsync(Decode(source_id), await CfsApi.ReadBodyAsync(request, cancellationToken), cancellationToken)),
                StatusCodes.Status201Created));

        group.MapPatch("/sources/{source_id}", async (string source_id, HttpRequest request, SourceService sources, CancellationToken cancellationToken) =>
        {
            var name = Decode(source_id);
            await sources.GetAsync(name, cancellationToken);
            return CfsApi.Json(CfsApi.Node(await sources.UpdateAsync(name, await CfsApi.ReadBodyAsync(request, cancellationToken), cancellationToken)));
        });

        group.MapDelete("/sources/{source_id}", async (string source_id, SourceService sources, CancellationToken cancellationToken) =>
        {
            await sources.DeleteAsync(Decode(source_id), cancellationToken);
            return Results.NoContent();
        });
        return group;
    }

    /// <summary>Routing decoded the id once; the reference decodes it once more (its clients encode it twice).</summary>
    private static string Decode(string routeValue) => Uri.UnescapeDataString(routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase));
}
