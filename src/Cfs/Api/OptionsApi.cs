using Cray.Cfs.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Cfs.Api;

public static class OptionsApi
{
    public static RouteGroupBuilder MapOptionsApi(this RouteGroupBuilder group, CfsApiVersion version)
    {
        group.MapGet("/options", async (OptionsService options, CancellationToken cancellationToken)
            => CfsApi.Json(OptionsService.Shape(await options.GetAsync(cancellationToken), version)));

        group.MapPatch("/options", async (HttpRequest request, OptionsService options, CancellationToken cancellationToken)
            => CfsApi.Json(OptionsService.Shape(await options.PatchAsync(await CfsApi.ReadBodyAsync(request, cancellationToken), version, cancellationToken), version)));
        return group;
    }
}
