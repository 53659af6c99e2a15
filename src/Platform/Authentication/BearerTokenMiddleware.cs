using Cray.Platform.Problems;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cray.Platform.Authentication;

/// <summary>
/// With <c>--auth token</c>, every request but the health checks must carry
/// <c>Authorization: Bearer &lt;token&gt;</c> naming a valid token; anything else is a 401 problem.
/// </summary>
public static class BearerTokenMiddleware
{
    private static readonly HashSet<string> OpenPaths = new(
        new[] { "", "/v2", "/v3" }.SelectMany(version => new[] { $"/apis/ims{version}/healthz/ready", $"/apis/ims{version}/healthz/live" })
            .Append("/healthz")
            .Append("/apis/cfs/healthz"),
        StringComparer.OrdinalIgnoreCase);

    public static IApplicationBuilder UseBearerTokens(this IApplicationBuilder app, AccessTokens tokens)
        => app.Use(async (context, next) =>
        {
            // Health checks stay open, as probes call them without credentials: these exact paths, read-only.
            if (HttpMethods.IsGet(context.Request.Method) && OpenPaths.Contains(context.Request.Path.Value ?? ""))
            {
                await next(context);
                return;
            }
            var header = context.Request.Headers.Authorization.ToString();
            var secret = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : "";
            if (secret.Length == 0 || await tokens.NameOfAsync(secret, context.RequestAborted) is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await ProblemResponses.WriteAsync(context, StatusCodes.Status401Unauthorized,
                    secret.Length == 0
                        ? "This server requires a bearer token: run `cray auth login` with a token from `cray-server tokens create NAME`."
                        : "The bearer token is not valid (unknown or deleted).",
                    null, "Unauthorized", null);
                return;
            }
            await next(context);
        });
}
