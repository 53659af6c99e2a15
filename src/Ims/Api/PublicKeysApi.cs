using Cray.Ims.PublicKeys;
using Cray.Ims.Validation;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Ims.Api;

public static class PublicKeysApi
{
    public static RouteGroupBuilder MapPublicKeysApi(this RouteGroupBuilder group, ImsRouteFamily family)
    {
        group.MapGet("/public-keys", async (PublicKeyService keys, CancellationToken cancellationToken)
            => ImsApi.Json(await keys.ListAsync(cancellationToken)));

        group.MapPost("/public-keys", async (HttpRequest request, PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            var (name, key) = PublicKeyService.ParseCreate(await JsonBodies.ReadObjectAsync(request, cancellationToken));
            return ImsApi.Json(await keys.CreateAsync(name, key, cancellationToken), StatusCodes.Status201Created);
        });

        group.MapGet("/public-keys/{id}", async (string id, PublicKeyService keys, CancellationToken cancellationToken)
            => ImsApi.Json(await keys.GetAsync(id, cancellationToken)));

        var soft = family == ImsRouteFamily.V3;
        group.MapDelete("/public-keys", async (PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            await (soft ? keys.SoftDeleteAllAsync(cancellationToken) : keys.HardDeleteAllAsync(cancellationToken));
            return Results.NoContent();
        });
        group.MapDelete("/public-keys/{id}", async (string id, PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            await (soft ? keys.SoftDeleteAsync(id, cancellationToken) : keys.HardDeleteAsync(id, cancellationToken));
            return Results.NoContent();
        });
        return group;
    }
}

/// <summary><c>/v3/deleted/public-keys</c>: list, describe, undelete (PATCH) and purge (DELETE).</summary>
public static class DeletedPublicKeysApi
{
    public static RouteGroupBuilder MapDeletedPublicKeysApi(this RouteGroupBuilder group)
    {
        group.MapGet("/deleted/public-keys", async (PublicKeyService keys, CancellationToken cancellationToken)
            => ImsApi.Json(await keys.ListDeletedAsync(cancellationToken)));

        group.MapDelete("/deleted/public-keys", async (PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            await keys.PurgeAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapPatch("/deleted/public-keys", async (HttpRequest request, PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            UndeleteRequest.Parse(await JsonBodies.ReadObjectAsync(request, cancellationToken));
            await keys.UndeleteAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapGet("/deleted/public-keys/{id}", async (string id, PublicKeyService keys, CancellationToken cancellationToken)
            => ImsApi.Json(await keys.GetDeletedAsync(id, cancellationToken)));

        group.MapDelete("/deleted/public-keys/{id}", async (string id, PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            await keys.PurgeAsync(id, cancellationToken);
            return Results.NoContent();
        });

        group.MapPatch("/deleted/public-keys/{id}", async (string id, HttpRequest request, PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            await keys.GetDeletedAsync(id, cancellationToken);
            UndeleteRequest.Parse(await JsonBodies.ReadObjectAsync(request, cancellationToken));
            await keys.UndeleteAsync(id, cancellationToken);
            return Results.NoContent();
        });
        return group;
    }
}
