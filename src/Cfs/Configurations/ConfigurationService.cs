using System.Globalization;
using Cray.Cfs.Model;
using Cray.Platform.Storage;

namespace Cray.Cfs.Configurations;

/// <summary>
/// CFS configurations: ordered layers (a repo at a commit plus a playbook). Stored in the v3 shape;
/// branches are resolved to commits on every write, and nothing is stored when any check fails.
/// </summary>
public sealed class ConfigurationService(IRecordStore store, IBranchResolver branches, Sources.SourceService sources, TimeProvider clock)
{
    public const int MaximumTenantLength = 127;

    public async Task<ConfigurationRecord?> FindAsync(string name, CancellationToken cancellationToken)
        => await store.GetAsync<ConfigurationRecord>(CfsCollections.Configurations, name, cancellationToken);

    public async Task<ConfigurationRecord> GetAsync(string name, string? tenant, CancellationToken cancellationToken)
    {
        var configuration = await FindAsync(name, cancellationToken) ?? throw NotFound(name);
        EnsureOwner(configuration, tenant);
        return configuration;
    }

    public IAsyncEnumerable<ConfigurationRecord> ScanAsync(string? afterId, CancellationToken cancellationToken)
        => store.ScanByIdAsync<ConfigurationRecord>(CfsCollections.Configurations, afterId, cancellationToken: cancellationToken);

    public async Task<HashSet<string>> InUseAsync(CancellationToken cancellationToken)
        => (await store.ListAsync<ComponentRecord>(CfsCollections.Components, cancellationToken))
            .Select(component => component.DesiredConfig)
            .Where(name => name.Length > 0)
            .ToHashSet();

    /// <summary>Creates or replaces a configuration (PUT), with the reference's checks in order.</summary>
    public async Task<ConfigurationRecord> PutAsync(ConfigurationPut request, string? tenant, bool dropBranches, CancellationToken cancellationToken)
    {
        var existing = await FindAsync(request.Configuration.Name, cancellationToken);
        var tenantName = request.Configuration.TenantName;
        if (!string.IsNullOrEmpty(tenant))
        {
            if (existing is not null)
            {
                EnsureOwner(existing, tenant);
            }
            if (!string.IsNullOrEmpty(tenantName) && tenantName != tenant)
            {
                throw Forbidden("Modification to existing field 'tenant_name' is not permitted.");
            }
            tenantName = tenant;
        }
        if (request.LayerProblem is { } problem)
        {
            throw problem;
        }
        foreach (var layer in request.Configuration.Repositories)
        {
            if (layer.Source is { } source && await sources.FindAsync(source, cancellationToken) is null)
            {
                throw CfsProblems.BadRequest("Source does not exist", $"The source {source} does not exist.");
            }
        }
        var configuration = await ResolveBranchesAsync(request.Configuration with { LastUpdated = Now(), TenantName = tenantName }, cancellationToken);
        CheckConflicts(configuration);
        if (dropBranches)
        {
            configuration = configuration with
            {
                Layers = [.. configuration.Layers.Select(layer => layer with { Branch = null })],
                AdditionalInventory = configuration.AdditionalInventory is { } inventory ? inventory with { Branch = null } : null,
            };
        }
        await store.WriteAsync(RecordWrite.Upsert(CfsCollections.Configurations, configuration.Name, configuration), cancellationToken);
        return configuration;
    }

    /// <summary>PATCH with no body: every branch is resolved again to its current head.</summary>
    public async Task<ConfigurationRecord> UpdateBranchesAsync(string name, string? tenant, CancellationToken cancellationToken)
    {
        var configuration = await ResolveBranchesAsync((await GetAsync(name, tenant, cancellationToken)) with { LastUpdated = Now() }, cancellationToken);
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
    public static bool IsVisibleTo(ConfigurationRecord configuration, string? tenant)
        => string.IsNullOrEmpty(tenant) || configuration.TenantName == tenant;

    public static void CheckTenant(string? tenant)
    {
        if (tenant is not null && tenant.Length > MaximumTenantLength)
        {
            throw CfsProblems.BadRequest("Invalid tenant", $"The tenant name is longer than {MaximumTenantLength} characters.");
        }
    }

    private async Task<ConfigurationRecord> ResolveBranchesAsync(ConfigurationRecord configuration, CancellationToken cancellationToken)
    {
        var layers = new List<ConfigurationLayer>();
        foreach (var layer in configuration.Layers)
        {
            layers.Add(await ResolveBranchAsync(layer, cancellationToken));
        }
        return configuration with
        {
            Layers = layers,
            AdditionalInventory = configuration.AdditionalInventory is { } inventory ? await ResolveBranchAsync(inventory, cancellationToken) : null,
        };
    }

    private async Task<ConfigurationLayer> ResolveBranchAsync(ConfigurationLayer layer, CancellationToken cancellationToken)
    {
        if (layer.Branch is not { } branch)
        {
            return layer;
        }
        var cloneUrl = layer.CloneUrl;
        Sources.SourceCredentials? credentials = null;
        if (layer.Source is { } sourceName)
        {
            var source = await sources.FindAsync(sourceName, cancellationToken)
                ?? throw CfsProblems.BadRequest("Source does not exist", $"The source {sourceName} does not exist.");
            cloneUrl = source.CloneUrl;
            credentials = await sources.CredentialsAsync(source, cancellationToken);
        }
        if (cloneUrl is null)
        {
            return layer;
        }
        try
        {
            return layer with { Commit = await branches.ResolveAsync(cloneUrl, branch, credentials, cancellationToken) };
        }
        catch (BranchResolutionException exception)
        {
            throw CfsProblems.BadRequest("Error converting branch name to commit", exception.Message);
        }
    }

    private static void CheckConflicts(ConfigurationRecord configuration)
    {
        var seen = new HashSet<(string, string)>();
        foreach (var layer in configuration.Layers)
        {
            if (!seen.Add((layer.CloneUrl ?? layer.Source ?? "", layer.Playbook ?? "")))
            {
                throw CfsProblems.BadRequest("Error with conflicting layers",
                    "Two or more layers apply the same playbook from the same repo, but have different commit ids.");
            }
        }
    }

    private static void EnsureOwner(ConfigurationRecord configuration, string? tenant)
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
}
