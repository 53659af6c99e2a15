using Cray.Ims.Images;
using Cray.Ims.Validation;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Ims.Api;

/// <summary><c>/v3/deleted/images</c>: list, describe, undelete (PATCH) and purge (DELETE).</summary>
public static class DeletedImagesApi
{
    public static RouteGroupBuilder MapDeletedImagesApi(this RouteGroupBuilder group)
    {
        group.MapGet("/deleted/images", async (ImageService images, CancellationToken cancellationToken)
            => ImsApi.Json(await images.ListDeletedAsync(cancellationToken)));

        group.MapDelete("/deleted/images", async (ImageService images, CancellationToken cancellationToken) =>
        {
            await images.PurgeAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapPatch("/deleted/images", async (HttpRequest request, ImageService images, CancellationToken cancellationToken) =>
        {
            UndeleteRequest.Parse(await JsonBodies.ReadObjectAsync(request, cancellationToken));
            await images.UndeleteAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapGet("/deleted/images/{id}", async (string id, ImageService images, CancellationToken cancellationToken)
            => ImsApi.Json(await images.GetDeletedAsync(id, cancellationToken)));

        group.MapDelete("/deleted/images/{id}", async (string id, ImageService images, CancellationToken cancellationToken) =>
        {
            await images.PurgeAsync(id, cancellationToken);
            return Results.NoContent();
        });

        group.MapPatch("/deleted/images/{id}", async (string id, HttpRequest request, ImageService images, CancellationToken cancellationToken) =>
        {
            await images.GetDeletedAsync(id, cancellationToken);
            UndeleteRequest.Parse(await JsonBodies.ReadObjectAsync(request, cancellationToken));
            await images.UndeleteAsync(id, cancellationToken);
            return Results.NoContent();
        });
        return group;
    }
}
