using System.Text.Json.Nodes;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Cfs.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Cfs.Api;

public static class SessionsApi
{
    /// <summary>The list filters a next-page link carries.</summary>
    private static readonly string[] FilterNames = ["status", "succeeded", "name_contains", "min_age", "max_age", "tags"];

    public static RouteGroupBuilder MapSessionsApi(this RouteGroupBuilder group, CfsApiVersion version)
    {
        group.MapPost("/sessions", async (HttpRequest request, SessionService sessions, OptionsService options, CancellationToken cancellationToken) =>
        {
            var create = SessionRequests.ParseCreate(await CfsApi.ReadBodyAsync(request, cancellationToken), version);
            var session = await sessions.CreateAsync(create, cancellationToken);
            return CfsApi.Json(Shape(session, version, await LogsUrlAsync(request, session.Name, options, cancellationToken)),
                version == CfsApiVersion.V3 ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        });

        group.MapGet("/sessions", async (HttpRequest request, SessionService sessions, OptionsService options, CancellationToken cancellationToken) =>
        {
            var filter = SessionRequests.ParseFilter(name => CfsApi.Query(request, name), version);
            var settings = await options.GetAsync(cancellationToken);
            var pageSize = OptionsService.PageSize(settings);
            var includeLinks = settings["include_ara_links"]?.GetValue<bool>() ?? true;
            if (version == CfsApiVersion.V2)
            {
                var (all, tooMany) = await Paging.PageAsync(sessions.ScanAsync(null, cancellationToken, filter), sessions.Matcher(filter), pageSize, cancellationToken);
                if (tooMany)
                {
                    throw Paging.TooLarge();
                }
                return CfsApi.Json(new JsonArray(all.Select(session => (JsonNode?)Shape(session, version, null)).ToArray()));
            }
            var limit = Paging.ParseLimit(CfsApi.Query(request, "limit")) ?? pageSize;
            var afterId = CfsApi.Query(request, "after_id");
            var (page, more) = await Paging.PageAsync(sessions.ScanAsync(string.IsNullOrEmpty(afterId) ? null : afterId, cancellationToken, filter),
                sessions.Matcher(filter), limit, cancellationToken);
            JsonObject? next = null;
            if (more)
            {
                next = new JsonObject();
                foreach (var name in FilterNames)
                {
                    next[name] = CfsApi.Query(request, name);
                }
                next["limit"] = limit;
                next["after_id"] = page[^1].Name;
            }
            var baseUrl = includeLinks ? BaseUrl(request) : null;
            return CfsApi.Json(new JsonObject
            {
                ["next"] = next,
                ["sessions"] = new JsonArray(page.Select(session => (JsonNode?)Shape(session, version, LogsUrl(baseUrl, session.Name))).ToArray()),
            });
        });

        group.MapDelete("/sessions", async (HttpRequest request, SessionService sessions, CancellationToken cancellationToken) =>
        {
            // The reference deletes only complete sessions unless told otherwise; v3 "status=" means any status.
            var filter = SessionRequests.ParseFilter(name => CfsApi.Query(request, name), version, defaultStatus: Model.SessionStates.Complete);
            var deleted = await sessions.DeleteManyAsync(filter, cancellationToken);
            return version == CfsApiVersion.V3
                ? CfsApi.Json(new JsonObject { ["session_ids"] = new JsonArray(deleted.Select(name => (JsonNode?)name).ToArray()) })
                : Results.NoContent();
        });

        group.MapGet("/sessions/{session_name}", async (string session_name, HttpRequest request, SessionService sessions, OptionsService options, CancellationToken cancellationToken) =>
        {
            var session = await sessions.GetAsync(session_name, cancellationToken);
            return CfsApi.Json(Shape(session, version, await LogsUrlAsync(request, session.Name, options, cancellationToken)));
        });

        group.MapPatch("/sessions/{session_name}", async (string session_name, HttpRequest request, SessionService sessions, CancellationToken cancellationToken) =>
        {
            await sessions.GetAsync(session_name, cancellationToken);
            var session = await sessions.PatchAsync(session_name, SessionRequests.ParsePatch(await CfsApi.ReadBodyAsync(request, cancellationToken), version), cancellationToken);
            return CfsApi.Json(Shape(session, version, null));
        });

        group.MapGet("/sessions/{session_name}/logs", async (string session_name, bool? follow, SessionService sessions, Runner.SessionLogs logs, HttpContext context) =>
        {
            await sessions.GetAsync(session_name, context.RequestAborted);
            await logs.StreamAsync(session_name, follow == true, async () =>
            {
                try
                {
                    return (await sessions.GetAsync(session_name, context.RequestAborted)).Status.Session.Status == Model.SessionStates.Complete;
                }
                catch (Platform.Problems.ProblemException)
                {
                    return true;
                }
            }, context);
        });

        if (version == CfsApiVersion.V3)
        {
            // Ours: ends a debug_on_failure hold from any API server (the reference needs kubectl exec and touch /tmp/complete).
            group.MapPost("/sessions/{session_name}/release", async (string session_name, SessionService sessions, CancellationToken cancellationToken)
                => CfsApi.Json(Shape(await sessions.ReleaseAsync(session_name, cancellationToken), version, null)));
        }

        group.MapDelete("/sessions/{session_name}", async (string session_name, SessionService sessions, CancellationToken cancellationToken) =>
        {
            await sessions.DeleteAsync(session_name, cancellationToken);
            return Results.NoContent();
        });
        return group;
    }

    /// <summary>v3 sessions link to their log on this server (the reference links to ARA), when include_ara_links is on.</summary>
    private static async Task<string?> LogsUrlAsync(HttpRequest request, string name, OptionsService options, CancellationToken cancellationToken)
        => (await options.GetAsync(cancellationToken))["include_ara_links"]?.GetValue<bool>() == false ? null : LogsUrl(BaseUrl(request), name);

    private static string? LogsUrl(string? baseUrl, string name)
        => baseUrl is null ? null : $"{baseUrl}{CfsApi.BasePath}/v3/sessions/{Uri.EscapeDataString(name)}/logs";

    private static string BaseUrl(HttpRequest request) => $"{request.Scheme}://{request.Host}";

    /// <summary>The session in a version's shape, keys sorted as the reference serves them.</summary>
    public static JsonObject Shape(SessionRecord session, CfsApiVersion version, string? logsUrl)
    {
        var shaped = CfsApi.Node(session).AsObject();
        // Which runner holds the session is the servers' business, not the reference's shape.
        shaped.Remove("runner");
        shaped.Remove("debug_hold");
        shaped.Remove("ims_jobs");
        if (version == CfsApiVersion.V3)
        {
            if (logsUrl is not null)
            {
                shaped["logs"] = logsUrl;
            }
        }
        else
        {
            shaped.Remove("debug_on_failure");
            JsonShapes.Rename(shaped, "layer_cache", "layerCache");
            var progress = (JsonObject)shaped["status"]!["session"]!;
            progress.Remove("ims_job");
            JsonShapes.Rename(progress, "start_time", "startTime");
            JsonShapes.Rename(progress, "completion_time", "completionTime");
        }
        return (JsonObject)JsonShapes.SortKeys(shaped)!;
    }
}
