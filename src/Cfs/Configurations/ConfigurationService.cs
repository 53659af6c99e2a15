using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Cfs.Model;
using Cray.Platform.Storage;

namespace Cray.Cfs.Configurations;

/// <summary>
/// CFS configurations: ordered layers (a repo at a commit plus a playbook). Stored in the v3 shape;
/// branches are resolved to commits on every write, and nothing is stored when any check fails.
/// </summary>
public sealed partial class ConfigurationService(IRecordStore store, IBranchResolver branches, Sources.SourceService sources, TimeProvider clock)
{
    public const int MaximumNameLength = 60;
    public const int MaximumLayerNameLength = 45;
    public const int MaximumTenantLength = 127;

    public async Task<JsonObject?> FindAsync(string name, CancellationToken cancellationToken)
        => await store.GetAsync<JsonObject>(CfsCollections.Configurations, name, cancellationToken);

    public async Task<JsonObject> GetAsync(string name, string? tenant, CancellationToken cancellationToken)
    {
        var configuration = await FindAsync(name, cancellationToken) ?? throw NotFound(name);
        EnsureOwner(configuration, tenant);
        return configuration;
    }

    public IAsyncEnumerable<JsonObject> ScanAsync(string? afterId, CancellationToken cancellationToken)
        => store.ScanByIdAsync<JsonObject>(CfsCollections.Configurations, afterId, cancellationToken);

    public async Task<HashSet<string>> InUseAsync(CancellationToken cancellationToken)
        => (await store.ListAsync<JsonObject>(CfsCollections.Components, cancellationToken))
            .Select(component => component["desired_config"]?.GetValue<string>())
            .OfType<string>()
            .Where(name => name.Length > 0)
            .ToHashSet();

    /// <summary>Creates or replaces a configuration (PUT), with the reference's checks in order.</summary>
    public async Task<JsonObject> PutAsync(string name, JsonNode? body, CfsApiVersion version, string? tenant, bool dropBranches, CancellationToken cancellationToken)
    {
        CheckName(name, version);
        var configuration = ParseBody(body, version);
        var existing = await FindAsync(name, cancellationToken);
        if (!string.IsNullOrEmpty(tenant))
        {
            if (existing is not null)
            {
                EnsureOwner(existing, tenant);
            }
            var given = configuration["tenant_name"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(given) && given != tenant)
            {
                throw Forbidden("Modification to existing field 'tenant_name' is not permitted.");
            }
            configuration["tenant_name"] = tenant;
        }
        CheckLayers(configuration, version);
        foreach (var layer in Layers(configuration).Append(configuration["additional_inventory"] as JsonObject).OfType<JsonObject>())
        {
            if (layer["source"]?.GetValue<string>() is { } source && await sources.FindAsync(source, cancellationToken) is null)
            {
                throw CfsProblems.BadRequest("Source does not exist", $"The source {source} does not exist.");
            }
        }
        configuration["last_updated"] = Now();
        await ResolveBranchesAsync(configuration, cancellationToken);
        CheckConflicts(configuration);
        if (dropBranches)
        {
            foreach (var layer in Layers(configuration).Append(configuration["additional_inventory"] as JsonObject).OfType<JsonObject>())
            {
                layer.Remove("branch");
            }
        }
        configuration["name"] = name;
        var sorted = (JsonObject)JsonShapes.SortKeys(configuration)!;
        await store.WriteAsync(RecordWrite.Upsert(CfsCollections.Configurations, name, sorted), cancellationToken);
        return sorted;
    }

    /// <summary>PATCH with no body: every branch is resolved again to its current head.</summary>
    public async Task<JsonObject> UpdateBranchesAsync(string name, string? tenant, CancellationToken cancellationToken)
    {
        var configuration = (JsonObject)(await GetAsync(name, tenant, cancellationToken)).DeepClone();
        configuration["last_updated"] = Now();
        await ResolveBranchesAsync(configuration, cancellationToken);
        CheckConflicts(configuration);
        await store.WriteAsync(RecordWrite.Upsert(CfsCollections.Configurations, name, configuration), cancellationToken);
        return configuration;
    }

    public async Task DeleteAsync(string name, string? tenant, CancellationToken cancellationToken)
    {
        await GetAsync(name, tenant, cancellationToken);
        if ((await InUseAsync(cancellationToken)).Contains(name))
        {
            throw CfsProblems.BadRequest("Configuration is in use.", $"Configuration {name} is referenced by the desired state of some components");
        }
        await store.WriteAsync(RecordWrite.Delete(CfsCollections.Configurations, name), cancellationToken);
    }

    /// <summary>A tenant sees and changes only its own configurations; no tenant (an admin) sees all.</summary>
    public static bool IsVisibleTo(JsonObject configuration, string? tenant)
        => string.IsNullOrEmpty(tenant) || configuration["tenant_name"]?.GetValue<string>() == tenant;

    public static void CheckTenant(string? tenant)
    {
        if (tenant is not null && tenant.Length > MaximumTenantLength)
        {
            throw CfsProblems.BadRequest("Invalid tenant", $"The tenant name is longer than {MaximumTenantLength} characters.");
        }
    }

    /// <summary>The v2 shape: camelCase keys except additional_inventory, no tenant_name.</summary>
    public static JsonObject Shape(JsonObject configuration, CfsApiVersion version)
    {
        var shaped = (JsonObject)configuration.DeepClone();
        if (version == CfsApiVersion.V2)
        {
            shaped.Remove("tenant_name");
            JsonShapes.Rename(shaped, "last_updated", "lastUpdated");
            foreach (var layer in Layers(shaped))
            {
                JsonShapes.Rename(layer, "clone_url", "cloneUrl");
                if (layer["special_parameters"] is JsonObject special)
                {
                    JsonShapes.Rename(special, "ims_require_dkms", "imsRequireDkms");
                }
                JsonShapes.Rename(layer, "special_parameters", "specialParameters");
            }
        }
        return (JsonObject)JsonShapes.SortKeys(shaped)!;
    }

    public static IEnumerable<JsonObject> Layers(JsonObject configuration)
        => (configuration["layers"] as JsonArray ?? []).OfType<JsonObject>();

    private static void CheckName(string name, CfsApiVersion version)
    {
        if (name.Length == 0 || (version == CfsApiVersion.V3 && name.Length > MaximumNameLength))
        {
            throw CfsProblems.Schema($"'{name}' is too {(name.Length == 0 ? "short" : "long")}", "configuration_id");
        }
    }

    /// <summary>Checks the body against the version's schema and returns it in the stored (v3) names.</summary>
    private static JsonObject ParseBody(JsonNode? body, CfsApiVersion version)
    {
        var v3 = version == CfsApiVersion.V3;
        var reader = SchemaReader.Of(body, "");
        reader.Only(v3 ? ["description", "layers", "additional_inventory", "tenant_name"] : ["description", "layers", "additional_inventory"],
            v3 ? ["name", "last_updated"] : ["name", "lastUpdated"]);
        reader.String("description");
        if (v3)
        {
            reader.String("tenant_name", nullable: true);
        }
        var layers = reader.Array("layers", (node, path) => ParseLayer(node, path, version), nullable: false) ?? [];
        var result = new JsonObject { ["layers"] = new JsonArray(layers.ToArray()) };
        if (reader.Has("description"))
        {
            result["description"] = reader.Body["description"]!.DeepClone();
        }
        if (v3 && reader.Body["tenant_name"] is not null)
        {
            result["tenant_name"] = reader.Body["tenant_name"]!.DeepClone();
        }
        if (reader.Object("additional_inventory") is { } inventory)
        {
            inventory.Only(v3 ? ["name", "clone_url", "source", "commit", "branch"] : ["name", "clone_url", "commit", "branch"]);
            var parsed = new JsonObject();
            CopyStrings(inventory, parsed, [("name", "name", null), ("clone_url", "clone_url", NoSpaceOrSemicolon()), ("source", "source", null),
                ("commit", "commit", CommitPattern()), ("branch", "branch", NoSpaceOrSemicolon())]);
            result["additional_inventory"] = parsed;
        }
        return result;
    }

    private static JsonObject ParseLayer(JsonNode? node, string path, CfsApiVersion version)
    {
        var v3 = version == CfsApiVersion.V3;
        var reader = SchemaReader.Of(node, path);
        reader.Only(v3
            ? ["name", "clone_url", "source", "playbook", "commit", "branch", "special_parameters"]
            : ["name", "cloneUrl", "playbook", "commit", "branch", "specialParameters"]);
        reader.Require(v3 ? ["playbook"] : ["cloneUrl"]);
        var layer = new JsonObject();
        reader.String("name", maxLength: v3 ? MaximumLayerNameLength : int.MaxValue, nullable: !v3);
        CopyStrings(reader, layer,
        [
            ("name", "name", null),
            (v3 ? "clone_url" : "cloneUrl", "clone_url", NoSpaceOrSemicolon()),
            ("source", "source", null),
            ("playbook", "playbook", NoSpaceOrSemicolon()),
            ("commit", "commit", CommitPattern()),
            ("branch", "branch", NoSpaceOrSemicolon()),
        ]);
        if (reader.Object(v3 ? "special_parameters" : "specialParameters") is { } special)
        {
            var dkmsName = v3 ? "ims_require_dkms" : "imsRequireDkms";
            special.Only([dkmsName]);
            var dkms = special.Boolean(dkmsName);
            layer["special_parameters"] = dkms is null ? new JsonObject() : new JsonObject { ["ims_require_dkms"] = dkms };
        }
        return layer;
    }

    private static void CopyStrings(SchemaReader reader, JsonObject target, (string From, string To, Regex? Pattern)[] fields)
    {
        foreach (var (from, to, pattern) in fields)
        {
            var value = reader.String(from, pattern: pattern, nullable: true);
            if (value is not null)
            {
                target[to] = value;
            }
        }
    }

    private static void CheckLayers(JsonObject configuration, CfsApiVersion version)
    {
        var v3 = version == CfsApiVersion.V3;
        foreach (var layer in Layers(configuration).Append(configuration["additional_inventory"] as JsonObject).OfType<JsonObject>())
        {
            var hasUrl = layer.ContainsKey("clone_url");
            var hasSource = layer.ContainsKey("source");
            if (v3 && hasUrl && hasSource)
            {
                throw CfsProblems.BadRequest("Error handling source", "Only source or clone_url should be specified for each layer, not both.");
            }
            if (v3 && !hasUrl && !hasSource)
            {
                throw CfsProblems.BadRequest("Error handling source", "Either source or clone_url must be specified for each layer.");
            }
            if (layer.ContainsKey("branch") && layer.ContainsKey("commit"))
            {
                throw CfsProblems.BadRequest(v3 ? "Error handling branches" : "Error handling error branches",
                    "Only branch or commit should be specified for each layer, not both.");
            }
        }
    }

    private async Task ResolveBranchesAsync(JsonObject configuration, CancellationToken cancellationToken)
    {
        foreach (var layer in Layers(configuration).Append(configuration["additional_inventory"] as JsonObject).OfType<JsonObject>())
        {
            if (layer["branch"]?.GetValue<string>() is not { } branch)
            {
                continue;
            }
            var cloneUrl = layer["clone_url"]?.GetValue<string>();
            Sources.SourceCredentials? credentials = null;
            if (layer["source"]?.GetValue<string>() is { } sourceName)
            {
                var source = await sources.FindAsync(sourceName, cancellationToken)
                    ?? throw CfsProblems.BadRequest("Source does not exist", $"The source {sourceName} does not exist.");
                cloneUrl = source["clone_url"]!.GetValue<string>();
                credentials = await sources.CredentialsAsync(source, cancellationToken);
            }
            if (cloneUrl is null)
            {
                continue;
            }
            try
            {
                layer["commit"] = await branches.ResolveAsync(cloneUrl, branch, credentials, cancellationToken);
            }
            catch (BranchResolutionException exception)
            {
                throw CfsProblems.BadRequest("Error converting branch name to commit", exception.Message);
            }
        }
    }

    private static void CheckConflicts(JsonObject configuration)
    {
        var seen = new HashSet<(string, string)>();
        foreach (var layer in Layers(configuration))
        {
            var repository = layer["clone_url"]?.GetValue<string>() ?? layer["source"]?.GetValue<string>() ?? "";
            if (!seen.Add((repository, layer["playbook"]?.GetValue<string>() ?? "")))
            {
                throw CfsProblems.BadRequest("Error with conflicting layers",
                    "Two or more layers apply the same playbook from the same repo, but have different commit ids.");
            }
        }
    }

    private static void EnsureOwner(JsonObject configuration, string? tenant)
    {
        if (!IsVisibleTo(configuration, tenant))
        {
            throw Forbidden("Tenant does not own the requested resources and is forbidden from making changes.");
        }
    }

    private static Platform.Problems.ProblemException Forbidden(string detail)
        => CfsProblems.Problem(Microsoft.AspNetCore.Http.StatusCodes.Status403Forbidden, "Forbidden operation.", detail);

    public static Platform.Problems.ProblemException NotFound(string name)
        => CfsProblems.NotFound("Configuration not found", $"Configuration {name} could not be found");

    private string Now() => clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex("^[^\\s;]*$")]
    private static partial Regex NoSpaceOrSemicolon();

    [GeneratedRegex("^[a-f0-9]{40}$")]
    private static partial Regex CommitPattern();
}
