using Cray.Ims.Validation;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Ims.Api;

/// <summary>What a v3 deleted collection offers: list, describe, undelete and permanent purge.</summary>
public interface IDeletedRecords<TDeleted>
{
    Task<IReadOnlyList<TDeleted>> ListDeletedAsync(CancellationToken cancellationToken);

    Task<TDeleted> GetDeletedAsync(string id, CancellationToken cancellationToken);

    Task UndeleteAsync(string id, CancellationToken cancellationToken);

    Task UndeleteAllAsync(CancellationToken cancellationToken);

    Task PurgeAsync(string id, CancellationToken cancellationToken);

    Task PurgeAllAsync(CancellationToken cancellationToken);
}

/// <summary><c>/v3/deleted/&lt;collection&gt;</c>: GET lists or describes, PATCH <c>{"operation":"undelete"}</c> restores, DELETE purges.</summary>
public static class DeletedRecordsApi
{
    public static RouteGroupBuilder MapDeletedRecordsApi<TService, TDeleted>(this RouteGroupBuilder group, string collection)
        where TService : IDeletedRecords<TDeleted>
        where TDeleted : notnull
    {
        var path = $"/deleted/{collection}";
        // Resolved in the handler: build-time endpoint generation cannot take a generic parameter.
        static TService Records(HttpContext context) => context.RequestServices.GetRequiredService<TService>();

        group.MapGet(path, async (HttpContext context, CancellationToken cancellationToken)
            => ImsApi.Json(await Records(context).ListDeletedAsync(cancellationToken)))
            .Produces<IReadOnlyList<TDeleted>>();

        group.MapDelete(path, async (HttpContext context, CancellationToken cancellationToken) =>
        {
            await Records(context).PurgeAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapPatch(path, async (HttpContext context, CancellationToken cancellationToken) =>
        {
            UndeleteRequest.Parse(await JsonBodies.ReadObjectAsync(context.Request, ImsApi.BodyStyle, cancellationToken));
            await Records(context).UndeleteAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapGet(path + "/{id}", async (string id, HttpContext context, CancellationToken cancellationToken)
            => ImsApi.Json(await Records(context).GetDeletedAsync(id, cancellationToken)))
            .Produces<TDeleted>();

        group.MapDelete(path + "/{id}", async (string id, HttpContext context, CancellationToken cancellationToken) =>
        {
            await Records(context).PurgeAsync(id, cancellationToken);
            return Results.NoContent();
        });

        group.MapPatch(path + "/{id}", async (string id, HttpContext context, CancellationToken cancellationToken) =>
        {
            // An unknown id is a 404 before the body is judged.
            await Records(context).GetDeletedAsync(id, cancellationToken);
            UndeleteRequest.Parse(await JsonBodies.ReadObjectAsync(context.Request, ImsApi.BodyStyle, cancellationToken));
            await Records(context).UndeleteAsync(id, cancellationToken);
            return Results.NoContent();
        });
        return group;
    }
}
