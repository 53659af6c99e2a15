using Cray.Artifacts;
using Cray.Ims.Images;
using Cray.Ims.Jobs;
using Cray.Ims.Model;
using Cray.Platform.Json;
using Cray.Processes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Cray.Ims.Api;

public static class ImagesApi
{
    public static RouteGroupBuilder MapImagesApi(this RouteGroupBuilder group, ImsRouteFamily family)
    {
        group.MapGet("/images", async (ImageService images, CancellationToken cancellationToken)
            => ImsApi.Json(await images.ListAsync(cancellationToken)))
            .Produces<IReadOnlyList<Image>>();

        group.MapPost("/images", async (HttpRequest request, ImageService images, CancellationToken cancellationToken) =>
        {
            var create = ImageRequests.ParseCreate(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await images.CreateAsync(create, cancellationToken), StatusCodes.Status201Created);
        }).Produces<Image>(StatusCodes.Status201Created);

        group.MapGet("/images/{id}", async (string id, ImageService images, CancellationToken cancellationToken)
            => ImsApi.Json(await images.GetAsync(id, cancellationToken)))
            .Produces<Image>();

        group.MapPatch("/images/{id}", async (string id, HttpRequest request, ImageService images, CancellationToken cancellationToken) =>
        {
            // The record must exist before the body is judged, as in the reference (404 before 400).
            await images.GetAsync(id, cancellationToken);
            var patch = ImageRequests.ParsePatch(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await images.PatchAsync(id, patch, cancellationToken));
        }).Produces<Image>();

        // Ours: what changed between two images, files and packages.
        group.MapGet("/images/{id}/diff/{other_id}", async (string id, [FromRoute(Name = "other_id")] string otherId, ImageService images, IArtifactStore artifacts,
            IProcessRunner runner, ImsWorkerOptions options, CancellationToken cancellationToken) =>
        {
            // Fetched root file systems go beside the worker's source cache, under the data directory.
            var temporaryDirectory = Path.Combine(Path.GetDirectoryName(options.SourceCacheDirectory)!, "diff");
            return ImsApi.Json(await new ImageDiffService(images, artifacts, runner, temporaryDirectory).CompareAsync(id, otherId, cancellationToken));
        }).Produces<ImageDifference>();

        return group.MapRecordDeletionApi<ImageService>("images", family);
    }
}
