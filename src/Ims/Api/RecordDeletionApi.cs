using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Ims.Api;

/// <summary>What DELETE does to a collection whose records link artifacts: v3 deletes softly, v2 and the root hard.</summary>
public interface IDeletableRecords
{
    /// <summary>The record moves to the deleted collection and its artifacts under <c>deleted/</c>.</summary>
    Task SoftDeleteAsync(string id, CancellationToken cancellationToken);

    Task SoftDeleteAllAsync(CancellationToken cancellationToken);

    /// <summary>The record goes; with <paramref name="cascade"/>, its artifacts too.</summary>
    Task HardDeleteAsync(string id, bool cascade, CancellationToken cancellationToken);

    Task HardDeleteAllAsync(bool cascade, CancellationToken cancellationToken);
}

public static class RecordDeletionApi
{
    /// <summary>DELETE on <c>/&lt;collection&gt;</c> and <c>/&lt;collection&gt;/{id}</c>: soft in v3, hard with <c>?cascade=</c> in v2 and the root.</summary>
    public static RouteGroupBuilder MapRecordDeletionApi<TService>(this RouteGroupBuilder group, string collection, ImsRouteFamily family)
        where TService : IDeletableRecords
    {
        var path = "/" + collection;
        // Resolved in the handler: build-time endpoint generation cannot take a generic parameter.
        static TService Records(HttpContext context) => context.RequestServices.GetRequiredService<TService>();

        if (family == ImsRouteFamily.V3)
        {
            group.MapDelete(path, async (HttpContext context, CancellationToken cancellationToken) =>
            {
                await Records(context).SoftDeleteAllAsync(cancellationToken);
                return Results.NoContent();
            });
            group.MapDelete(path + "/{id}", async (string id, HttpContext context, CancellationToken cancellationToken) =>
            {
                await Records(context).SoftDeleteAsync(id, cancellationToken);
                return Results.NoContent();
            });
        }
        else
        {
            group.MapDelete(path, async (string? cascade, HttpContext context, CancellationToken cancellationToken) =>
            {
                await Records(context).HardDeleteAllAsync(ImsApi.ParseCascade(cascade), cancellationToken);
                return Results.NoContent();
            });
            group.MapDelete(path + "/{id}", async (string id, string? cascade, HttpContext context, CancellationToken cancellationToken) =>
            {
                await Records(context).HardDeleteAsync(id, ImsApi.ParseCascade(cascade), cancellationToken);
                return Results.NoContent();
            });
        }
        return group;
    }
}
