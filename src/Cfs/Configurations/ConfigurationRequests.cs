using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Cfs.Model;
using Cray.Platform.Problems;

namespace Cray.Cfs.Configurations;

/// <summary>
/// A configuration PUT, read in its API version's names into the stored (v3) record, whose
/// last_updated is set when it is stored. <see cref="LayerProblem"/> is what the reference's layer
/// checks found; it is raised after the tenant's checks, in the reference's order.
/// </summary>
public sealed record ConfigurationPut(ConfigurationRecord Configuration, ProblemException? LayerProblem);

/// <summary>Reads configuration requests with the reference schema's rules, in v2 (camelCase) or v3 (snake_case) names.</summary>
public static partial class ConfigurationRequests
{
    public const int MaximumNameLength = 60;
    public const int MaximumLayerNameLength = 45;

    public static ConfigurationPut ParsePut(string name, JsonNode? body, CfsApiVersion version)
    {
        var v3 = version == CfsApiVersion.V3;
        if (name.Length == 0 || (v3 && name.Length > MaximumNameLength))
        {
            throw CfsProblems.Schema($"'{name}' is too {(name.Length == 0 ? "short" : "long")}", "configuration_id");
        }
        var reader = SchemaReader.Of(body, "");
        reader.Only(v3 ? ["description", "layers", "additional_inventory", "tenant_name"] : ["description", "layers", "additional_inventory"],
            v3 ? ["name", "last_updated"] : ["name", "lastUpdated"]);
        var description = reader.String("description");
        var tenant = v3 ? reader.String("tenant_name", nullable: true) : null;
        var layers = reader.Array("layers", (node, path) => ParseLayer(node, path, version), nullable: false) ?? [];
        ConfigurationLayer? inventory = null;
        if (reader.Object("additional_inventory") is { } inventoryReader)
        {
            inventoryReader.Only(v3 ? ["name", "clone_url", "source", "commit", "branch"] : ["name", "clone_url", "commit", "branch"]);
            inventory = new ConfigurationLayer(
                Branch: inventoryReader.String("branch", pattern: NoSpaceOrSemicolon(), nullable: true),
                CloneUrl: inventoryReader.String("clone_url", pattern: NoSpaceOrSemicolon(), nullable: true),
                Commit: inventoryReader.String("commit", pattern: CommitPattern(), nullable: true),
                Name: inventoryReader.String("name", nullable: true),
                Playbook: null,
                Source: inventoryReader.String("source", nullable: true),
                SpecialParameters: null);
        }
        var configuration = new ConfigurationRecord(inventory, description, "", layers, name, tenant);
        return new ConfigurationPut(configuration, LayerProblemOf(configuration, v3));
    }

    private static ConfigurationLayer ParseLayer(JsonNode? node, string path, CfsApiVersion version)
    {
        var v3 = version == CfsApiVersion.V3;
        var reader = SchemaReader.Of(node, path);
        reader.Only(v3
            ? ["name", "clone_url", "source", "playbook", "commit", "branch", "special_parameters"]
            : ["name", "cloneUrl", "playbook", "commit", "branch", "specialParameters"]);
        reader.Require(v3 ? ["playbook"] : ["cloneUrl"]);
        // Fields are judged in this order, so the first failure reported is the reference's.
        var name = reader.String("name", maxLength: v3 ? MaximumLayerNameLength : int.MaxValue, nullable: !v3);
        var cloneUrl = reader.String(v3 ? "clone_url" : "cloneUrl", pattern: NoSpaceOrSemicolon(), nullable: true);
        var source = reader.String("source", nullable: true);
        var playbook = reader.String("playbook", pattern: NoSpaceOrSemicolon(), nullable: true);
        var commit = reader.String("commit", pattern: CommitPattern(), nullable: true);
        var branch = reader.String("branch", pattern: NoSpaceOrSemicolon(), nullable: true);
        LayerSpecialParameters? special = null;
        if (reader.Object(v3 ? "special_parameters" : "specialParameters") is { } specialReader)
        {
            var dkmsName = v3 ? "ims_require_dkms" : "imsRequireDkms";
            var cacheName = v3 ? "layer_cache" : "layerCache";
            specialReader.Only([dkmsName, cacheName]);
            special = new LayerSpecialParameters(specialReader.Boolean(dkmsName), specialReader.Boolean(cacheName));
        }
        return new ConfigurationLayer(branch, cloneUrl, commit, name, playbook, source, special);
    }

    private static ProblemException? LayerProblemOf(ConfigurationRecord configuration, bool v3)
    {
        foreach (var layer in configuration.Repositories)
        {
            var hasUrl = layer.CloneUrl is not null;
            var hasSource = layer.Source is not null;
            if (v3 && hasUrl && hasSource)
            {
                return CfsProblems.BadRequest("Error handling source", "Only source or clone_url should be specified for each layer, not both.");
            }
            if (v3 && !hasUrl && !hasSource)
            {
                return CfsProblems.BadRequest("Error handling source", "Either source or clone_url must be specified for each layer.");
            }
            if (layer.Branch is not null && layer.Commit is not null)
            {
                return CfsProblems.BadRequest(v3 ? "Error handling branches" : "Error handling error branches",
                    "Only branch or commit should be specified for each layer, not both.");
            }
        }
        return null;
    }

    [GeneratedRegex("^[^\\s;]*$")]
    private static partial Regex NoSpaceOrSemicolon();

    [GeneratedRegex("^[a-f0-9]{40}$")]
    private static partial Regex CommitPattern();
}
