using Cray.Ims.Images;
using Cray.Ims.Model;
using Cray.Ims.PublicKeys;
using Cray.Ims.Recipes;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Ims.Api;

/// <summary>The reference's three route families; records and checks are shared, only DELETE differs.</summary>
public enum ImsRouteFamily
{
    /// <summary>/apis/ims/v3: the CLI's family; deletes are soft.</summary>
    V3,

    /// <summary>/apis/ims/v2: deletes are hard, with cascade.</summary>
    V2,

    /// <summary>/apis/ims: what CFS and in-job helpers call; behaves as v2.</summary>
    Root,
}

public static class ImsApi
{
    public const string BasePath = "/apis/ims";

    /// <summary>As the reference answers: problems without a type; text that does not parse is "No input data provided", like an empty body.</summary>
    public static readonly JsonBodyStyle BodyStyle = new(null, UnparsableIsEmpty: true);

    public static IEndpointRouteBuilder MapImsApi(this IEndpointRouteBuilder routes)
    {
        foreach (var (prefix, family) in new[] { ("/v3", ImsRouteFamily.V3), ("/v2", ImsRouteFamily.V2), ("", ImsRouteFamily.Root) })
        {
            var group = routes.MapGroup(BasePath + prefix);
            group.MapImagesApi(family);
            group.MapRecipesApi(family);
            group.MapPublicKeysApi(family);
            group.MapJobsApi();
            if (family == ImsRouteFamily.V3)
            {
                group.MapDeletedRecordsApi<ImageService, DeletedImage>("images");
                group.MapDeletedRecordsApi<RecipeService, DeletedRecipe>("recipes");
                group.MapDeletedRecordsApi<PublicKeyService, DeletedPublicKey>("public-keys");
                group.MapRemoteBuildNodesApi();
            }
            group.MapImsHealthApi();
        }
        return routes;
    }

    internal static IResult Json(object value, int statusCode = StatusCodes.Status200OK)
        => Results.Json(value, RecordJson.Options, statusCode: statusCode);

    /// <summary>The reference's reading of <c>?cascade=</c>: true unless it says otherwise.</summary>
    internal static bool ParseCascade(string? cascade)
        => cascade is null || cascade.ToLowerInvariant() is "true" or "yes" or "t" or "1" or "y";

    internal static string Version { get; } = Platform.ProductVersion.Of(typeof(ImsApi).Assembly) ?? "Unknown";
}

public static class ImsHealthApi
{
    public static RouteGroupBuilder MapImsHealthApi(this RouteGroupBuilder group)
    {
        group.MapGet("/healthz/ready", () => Results.Json(new { }));
        group.MapGet("/healthz/live", () => Results.Json(new { }));
        group.MapGet("/version", () => Results.Json(new { version = ImsApi.Version }));
        return group;
    }
}
