using System.Text.Json.Nodes;
using Cray.Cfs.Components;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Cfs.Api;

public static class ComponentsApi
{
    /// <summary>The list filters a next-page link carries.</summary>
    private static readonly string[] FilterNames = ["ids", "status", "enabled", "config_name", "tags"];

    public static RouteGroupBuilder MapComponentsApi(this RouteGroupBuilder group, CfsApiVersion version)
    {
        var v3 = version == CfsApiVersion.V3;
        var configDetailsName = v3 ? "config_details" : "configDetails";

        group.MapGet("/components", async (HttpRequest request, ComponentService components, OptionsService options, CancellationToken cancellationToken) =>
        {
            var filter = ComponentRequests.ParseFilter(name => CfsApi.Query(request, name), version);
            var configDetails = Flag(request, configDetailsName);
            var stateDetails = v3 && Flag(request, "state_details");
            var context = await components.ContextAsync(cancellationToken);
            var settings = await options.GetAsync(cancellationToken);
            var pageSize = OptionsService.PageSize(settings);
            bool Matches(ComponentRecord component) => ComponentService.Matches(component, filter, context);
            if (!v3)
            {
                var (all, tooMany) = await Paging.PageAsync(components.ScanAsync(null, cancellationToken, filter), Matches, pageSize, cancellationToken);
                if (tooMany)
                {
                    throw CfsProblems.BadRequest("The response size is too large",
                        "The response size exceeds the default_page_size.  Use the v3 API to page through the results.");
                }
                return CfsApi.Json(new JsonArray(all.Select(component => (JsonNode?)ComponentRequests.Shape(component, version, context, configDetails, false, null)).ToArray()));
            }
            var limit = Paging.ParseLimit(CfsApi.Query(request, "limit")) ?? pageSize;
            var afterId = CfsApi.Query(request, "after_id");
            var (page, more) = await Paging.PageAsync(components.ScanAsync(string.IsNullOrEmpty(afterId) ? null : afterId, cancellationToken, filter), Matches, limit, cancellationToken);
            JsonObject? next = null;
            if (more)
            {
                next = new JsonObject();
                foreach (var name in FilterNames)
                {
                    next[name] = CfsApi.Query(request, name) ?? "";
                }
                next["config_details"] = configDetails;
                next["state_details"] = stateDetails;
                next["limit"] = limit;
                next["after_id"] = page[^1].Id;
            }
            return CfsApi.Json(new JsonObject
            {
                ["components"] = new JsonArray(page.Select(component => (JsonNode?)ComponentRequests.Shape(component, version, context, configDetails, stateDetails, null)).ToArray()),
                ["next"] = next,
            });
        });

        group.MapPut("/components", async (HttpRequest request, ComponentService components, CancellationToken cancellationToken) =>
        {
            var body = await CfsApi.ReadListOrObjectAsync(request, cancellationToken);
            if (body is not JsonArray list)
            {
                throw CfsProblems.Schema($"{SchemaReader.Show(body)} is not of type 'array'", "");
            }
            var parsed = list.Select((item, index) => ComponentRequests.Parse(item, version, index.ToString(System.Globalization.CultureInfo.InvariantCulture), requireId: true)).ToList();
            var stored = await components.PutAsync(parsed, cancellationToken);
            return await ManyResultAsync(stored, components, version, cancellationToken);
        });

        group.MapPatch("/components", async (HttpRequest request, ComponentService components, CancellationToken cancellationToken) =>
        {
            var body = await CfsApi.ReadListOrObjectAsync(request, cancellationToken);
            List<(string Id, ComponentChange Patch)> patches;
            if (body is JsonArray list)
            {
                patches = list.Select((item, index) => ComponentRequests.Parse(item, version, index.ToString(System.Globalization.CultureInfo.InvariantCulture), requireId: true))
                    .Select(patch => (patch.Id!, patch))
                    .ToList();
            }
            else
            {
                var reader = SchemaReader.Of(body, "").Only(["patch", "filters"]);
                reader.Require("patch", "filters");
                var patch = ComponentRequests.Parse(reader.Body["patch"], version, "patch");
                var filter = ComponentRequests.ParseBodyFilter(reader.Body["filters"], version);
                if (filter.IsEmpty)
                {
                    throw CfsProblems.BadRequest("Bad Request", "At least one filter must be set for updates.");
                }
                patches = (await components.MatchingIdsAsync(filter, cancellationToken)).Select(id => (id, patch)).ToList();
            }
            var updated = await components.PatchManyAsync(patches, cancellationToken);
            return await ManyResultAsync(updated, components, version, cancellationToken);
        });

        group.MapGet("/components/{component_id}", async (string component_id, HttpRequest request, ComponentService components, CancellationToken cancellationToken) =>
        {
            var component = await components.GetAsync(component_id, cancellationToken);
            var context = await components.ContextAsync(cancellationToken);
            return CfsApi.Json(ComponentRequests.Shape(component, version, context, Flag(request, configDetailsName), v3 && Flag(request, "state_details"), null));
        });

        group.MapPut("/components/{component_id}", async (string component_id, HttpRequest request, ComponentService components, CancellationToken cancellationToken) =>
        {
            // The path names the component, whatever the body says.
            var parsed = ComponentRequests.Parse(await CfsApi.ReadBodyAsync(request, cancellationToken), version) with { Id = ComponentRequests.CheckId(component_id) };
            var stored = (await components.PutAsync([parsed], cancellationToken))[0];
            return CfsApi.Json(ComponentRequests.Shape(stored, version, await components.ContextAsync(cancellationToken), false, v3, null));
        });

        group.MapPatch("/components/{component_id}", async (string component_id, HttpRequest request, ComponentService components, CancellationToken cancellationToken) =>
        {
            await components.GetAsync(component_id, cancellationToken);
            var parsed = ComponentRequests.Parse(await CfsApi.ReadBodyAsync(request, cancellationToken), version) with { Id = null };
            var updated = await components.PatchAsync(component_id, parsed, cancellationToken);
            return CfsApi.Json(ComponentRequests.Shape(updated, version, await components.ContextAsync(cancellationToken), false, v3, null));
        });

        group.MapDelete("/components/{component_id}", async (string component_id, ComponentService components, CancellationToken cancellationToken) =>
        {
            await components.DeleteAsync(component_id, cancellationToken);
            return Results.NoContent();
        });
        return group;
    }

    private static bool Flag(HttpRequest request, string name)
        => CfsApi.Query(request, name) is { Length: > 0 } text && ConfigurationsApi.ParseBoolean(text, name);

    /// <summary>v2 answers bulk writes with the components, v3 with their ids.</summary>
    private static async Task<IResult> ManyResultAsync(List<ComponentRecord> components, ComponentService service, CfsApiVersion version, CancellationToken cancellationToken)
    {
        if (version == CfsApiVersion.V3)
        {
            return CfsApi.Json(new JsonObject { ["component_ids"] = new JsonArray(components.Select(component => (JsonNode?)component.Id).ToArray()) });
        }
        var context = await service.ContextAsync(cancellationToken);
        return CfsApi.Json(new JsonArray(components.Select(component => (JsonNode?)ComponentRequests.Shape(component, version, context, false, false, null)).ToArray()));
    }
}
