using Cray.Cfs.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Cfs.Api;

public static class OptionsApi
{
    public static RouteGroupBuilder MapOptionsApi(this RouteGroupBuilder group, CfsApiVersion version)
    {
        group.MapGet("/options", async (HttpRequest request, OptionsService options, CancellationToken cancellationToken)
            => CfsApi.Json(OptionsRequests.Shape(await options.GetAsync(cancellationToken), version, WithExtensions(request))));

        group.MapPatch("/options", async (HttpRequest request, OptionsService options, CancellationToken cancellationToken)
            => CfsApi.Json(OptionsRequests.Shape(await options.PatchAsync(OptionsRequests.ParsePatch(await CfsApi.ReadBodyAsync(request, cancellationToken), version), cancellationToken), version,
                WithExtensions(request))));
        return group;
    }

    /// <summary>The query that adds our own options to the answer; the cray CLI always sends it. A PATCH may set them either way.</summary>
    public const string ExtensionsQuery = "extensions";

    private static bool WithExtensions(HttpRequest request)
        => string.Equals(CfsApi.Query(request, ExtensionsQuery), "true", StringComparison.OrdinalIgnoreCase);
}
