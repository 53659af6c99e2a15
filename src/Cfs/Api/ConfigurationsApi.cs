using System.Text.Json.Nodes;
using Cray.Cfs.Configurations;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Cfs.Api;

public static class ConfigurationsApi
{
    public const string TenantHeader = "Cray-Tenant-Name";

    public static RouteGroupBuilder MapConfigurationsApi(this RouteGroupBuilder group, CfsApiVersion version)
    {
        group.MapGet("/configurations", async (HttpRequest request, ConfigurationService configurations, OptionsService options, CancellationToken cancellationToken) =>
        {
            var tenant = Tenant(request, version);
            var inUseText = CfsApi.Query(request, "in_use");
            bool? inUse = string.IsNullOrEmpty(inUseText) ? null : ParseBoolean(inUseText, "in_use");
            var used = inUse is null ? null : await configurations.InUseAsync(cancellationToken);
            bool Matches(ConfigurationRecord configuration)
                => ConfigurationService.IsVisibleTo(configuration, tenant)
                    && (inUse is null || used!.Contains(configuration.Name) == inUse);
            var pageSize = OptionsService.PageSize(await options.GetAsync(cancellationToken));
            if (version == CfsApiVersion.V2)
            {
                var (all, tooMany) = await Paging.PageAsync(configurations.ScanAsync(null, cancellationToken), Matches, pageSize, cancellationToken);
                if (tooMany)
                {
                    throw CfsProblems.BadRequest("The response size is too large",
                        "The response size exceeds the default_page_size.  Use the v3 API to page through the results.");
                }
                return CfsApi.Json(new JsonArray(all.Select(configuration => (JsonNode?)Shape(configuration, version)).ToArray()));
            }
            var limit = Paging.ParseLimit(CfsApi.Query(request, "limit")) ?? pageSize;
            var afterId = CfsApi.Query(request, "after_id");
            var (page, more) = await Paging.PageAsync(configurations.ScanAsync(string.IsNullOrEmpty(afterId) ? null : afterId, cancellationToken),
                Matches, limit, cancellationToken);
            var next = more
                ? new JsonObject { ["in_use"] = inUse, ["limit"] = limit, ["after_id"] = page[^1].Name }
                : null;
            return CfsApi.Json(new JsonObject
            {
                ["configurations"] = new JsonArray(page.Select(configuration => (JsonNode?)Shape(configuration, version)).ToArray()),
                ["next"] = next,
            });
        });

        var get = group.MapGet("/configurations/{configuration_id}", async (string configuration_id, HttpRequest request, ConfigurationService configurations,
            CancellationToken cancellationToken)
            => CfsApi.Json(Shape(await configurations.GetAsync(configuration_id, Tenant(request, version), cancellationToken), version)));
        if (version == CfsApiVersion.V3)
        {
            // The record is the v3 shape; v2's camelCase shape is made from it and has no type of its own.
            get.Produces<ConfigurationRecord>();
        }

        group.MapPut("/configurations/{configuration_id}", async (string configuration_id, HttpRequest request, ConfigurationService configurations, CancellationToken cancellationToken) =>
        {
            var dropText = CfsApi.Query(request, "drop_branches");
            var drop = version == CfsApiVersion.V3 && !string.IsNullOrEmpty(dropText) && ParseBoolean(dropText, "drop_branches");
            var put = ConfigurationRequests.ParsePut(configuration_id, await CfsApi.ReadBodyAsync(request, cancellationToken), version);
            var stored = await configurations.PutAsync(put, Tenant(request, version), drop, cancellationToken);
            return CfsApi.Json(Shape(stored, version));
        });

        group.MapPatch("/configurations/{configuration_id}", async (string configuration_id, HttpRequest request, ConfigurationService configurations, CancellationToken cancellationToken)
            => CfsApi.Json(Shape(await configurations.UpdateBranchesAsync(configuration_id, Tenant(request, version), cancellationToken), version)));

        group.MapDelete("/configurations/{configuration_id}", async (string configuration_id, HttpRequest request, ConfigurationService configurations, CancellationToken cancellationToken) =>
        {
            await configurations.DeleteAsync(configuration_id, Tenant(request, version), cancellationToken);
            return Results.NoContent();
        });
        return group;
    }

    /// <summary>The version's shape: v2 has camelCase keys except additional_inventory, and no tenant_name.</summary>
    public static JsonObject Shape(ConfigurationRecord configuration, CfsApiVersion version)
    {
        var shaped = CfsApi.Node(configuration).AsObject();
        if (version == CfsApiVersion.V2)
        {
            shaped.Remove("tenant_name");
            JsonShapes.Rename(shaped, "last_updated", "lastUpdated");
            foreach (var layer in (shaped["layers"] as JsonArray ?? []).OfType<JsonObject>())
            {
                JsonShapes.Rename(layer, "clone_url", "cloneUrl");
                if (layer["special_parameters"] is JsonObject special)
                {
                    JsonShapes.Rename(special, "ims_require_dkms", "imsRequireDkms");
                    JsonShapes.Rename(special, "layer_cache", "layerCache");
                }
                JsonShapes.Rename(layer, "special_parameters", "specialParameters");
            }
        }
        return (JsonObject)JsonShapes.SortKeys(shaped)!;
    }

    /// <summary>The tenant header counts in v3 only; there is no tenant service here, so any well-formed name is accepted.</summary>
    private static string? Tenant(HttpRequest request, CfsApiVersion version)
    {
        if (version != CfsApiVersion.V3)
        {
            return null;
        }
        var tenant = request.Headers[TenantHeader].ToString();
        ConfigurationService.CheckTenant(tenant);
        return tenant.Length == 0 ? null : tenant;
    }

    internal static bool ParseBoolean(string text, string name) => text.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "y" or "t" or "on" => true,
        "false" or "0" or "no" or "n" or "f" or "off" => false,
        _ => throw CfsProblems.Schema($"'{text}' is not of type 'boolean'", name),
    };
}
