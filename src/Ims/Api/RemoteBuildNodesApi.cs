using Cray.Ims.RemoteBuildNodes;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Ims.Api;

/// <summary>/v3/remote-build-nodes: registered build nodes and the status of every worker (v3 only, as in the reference).</summary>
public static class RemoteBuildNodesApi
{
    public static RouteGroupBuilder MapRemoteBuildNodesApi(this RouteGroupBuilder group)
    {
        group.MapGet("/remote-build-nodes", async (RemoteBuildNodeService nodes, CancellationToken cancellationToken)
            => ImsApi.Json(await nodes.ListAsync(cancellationToken)))
            .Produces<IReadOnlyList<RemoteBuildNode>>();

        group.MapPost("/remote-build-nodes", async (HttpRequest request, RemoteBuildNodeService nodes, CancellationToken cancellationToken) =>
        {
            var xname = RemoteBuildNodeService.ParseCreate(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await nodes.CreateAsync(xname, cancellationToken), StatusCodes.Status201Created);
        }).Produces<RemoteBuildNode>(StatusCodes.Status201Created);

        group.MapDelete("/remote-build-nodes", async (RemoteBuildNodeService nodes, CancellationToken cancellationToken) =>
        {
            await nodes.DeleteAllAsync(cancellationToken);
            return Results.NoContent();
        });

        group.MapGet("/remote-build-nodes/status", async (RemoteBuildNodeService nodes, CancellationToken cancellationToken)
            => ImsApi.Json(await nodes.StatusListAsync(cancellationToken)))
            .Produces<IReadOnlyList<RemoteBuildNodeStatus>>();

        group.MapGet("/remote-build-nodes/status/{xname}", async (string xname, RemoteBuildNodeService nodes, CancellationToken cancellationToken)
            => ImsApi.Json(await nodes.StatusAsync(xname, cancellationToken)))
            .Produces<RemoteBuildNodeStatus>();

        group.MapGet("/remote-build-nodes/{xname}", async (string xname, RemoteBuildNodeService nodes, CancellationToken cancellationToken)
            => ImsApi.Json(await nodes.GetAsync(xname, cancellationToken)))
            .Produces<RemoteBuildNode>();

        group.MapDelete("/remote-build-nodes/{xname}", async (string xname, RemoteBuildNodeService nodes, CancellationToken cancellationToken) =>
        {
            await nodes.DeleteAsync(xname, cancellationToken);
            return Results.NoContent();
        });
        return group;
    }
}
