using Cray.Ims.Model;
using Cray.Ims.PublicKeys;
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
            => ImsApi.Json(await keys.ListAsync(cancellationToken)))
            .Produces<IReadOnlyList<PublicKey>>();

        group.MapPost("/public-keys", async (HttpRequest request, PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            var (name, key) = PublicKeyService.ParseCreate(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await keys.CreateAsync(name, key, cancellationToken), StatusCodes.Status201Created);
        }).Produces<PublicKey>(StatusCodes.Status201Created);

        group.MapGet("/public-keys/{id}", async (string id, PublicKeyService keys, CancellationToken cancellationToken)
            => ImsApi.Json(await keys.GetAsync(id, cancellationToken)))
            .Produces<PublicKey>();

        var soft = family == ImsRouteFamily.V3;
        group.MapDelete("/public-keys", async (PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            await (soft ? keys.SoftDeleteAllAsync(cancellationToken) : keys.HardDeleteAllAsync(cascade: false, cancellationToken));
            return Results.NoContent();
        });
        group.MapDelete("/public-keys/{id}", async (string id, PublicKeyService keys, CancellationToken cancellationToken) =>
        {
            await (soft ? keys.SoftDeleteAsync(id, cancellationToken) : keys.HardDeleteAsync(id, cascade: false, cancellationToken));
            return Results.NoContent();
        });
        return group;
    }
}
