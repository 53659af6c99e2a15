using Cray.Ims.Validation;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

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
        group.MapGet(path, async (TService records, CancellationToken cancellationToken)
            => ImsApi.Json(await records.ListDeletedAsync(cancellationToken)));

        group.MapDelete(path, async (TService records, CancellationToken cancellationToken) =>
        {
            await records.PurgeAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapPatch(path, async (HttpRequest request, TService records, CancellationToken cancellationToken) =>
        {
            UndeleteRequest.Parse(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            await records.UndeleteAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapGet(path + "/{id}", async (string id, TService records, CancellationToken cancellationToken)
            => ImsApi.Json(await records.GetDeletedAsync(id, cancellationToken)));

        group.MapDelete(path + "/{id}", async (string id, TService records, CancellationToken cancellationToken) =>
        {
            await records.PurgeAsync(id, cancellationToken);
            return Results.NoContent();
        });

        group.MapPatch(path + "/{id}", async (string id, HttpRequest request, TService records, CancellationToken cancellationToken) =>
        {
            // An unknown id is a 404 before the body is judged.
            await records.GetDeletedAsync(id, cancellationToken);
            UndeleteRequest.Parse(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            await records.UndeleteAsync(id, cancellationToken);
            return Results.NoContent();
        });
        return group;
    }
}
