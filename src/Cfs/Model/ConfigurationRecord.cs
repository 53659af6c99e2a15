using System.Text.Json.Serialization;

namespace Cray.Cfs.Model;

/// <summary>A layer's special parameters: the reference's <c>ims_require_dkms</c>, and ours, <c>layer_cache</c> (false: the layer's result is never reused or stored).</summary>
public sealed record LayerSpecialParameters(
    [property: JsonPropertyName("ims_require_dkms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ImsRequireDkms,
    [property: JsonPropertyName("layer_cache"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? LayerCache = null);

/// <summary>
/// A layer (a repository at a commit and a playbook) or the additional inventory (a repository at a
/// commit): the repository is a clone_url or a source's name; absent fields are not written.
/// </summary>
public sealed record ConfigurationLayer(
    [property: JsonPropertyName("branch"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Branch,
    [property: JsonPropertyName("clone_url"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CloneUrl,
    [property: JsonPropertyName("commit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Commit,
    [property: JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    [property: JsonPropertyName("playbook"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Playbook,
    [property: JsonPropertyName("source"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Source,
    [property: JsonPropertyName("special_parameters"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LayerSpecialParameters? SpecialParameters)
{
    [JsonIgnore]
    public bool RequiresDkms => SpecialParameters?.ImsRequireDkms == true;

    /// <summary>Whether the layer's result may be reused from the layer cache and stored in it: playbooks that are not repeatable opt out.</summary>
    [JsonIgnore]
    public bool Cacheable => SpecialParameters?.LayerCache != false;
}

/// <summary>A configuration as stored (the v3 shape); the v2 shape is derived from it on the way out.</summary>
public sealed record ConfigurationRecord(
    [property: JsonPropertyName("additional_inventory"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ConfigurationLayer? AdditionalInventory,
    [property: JsonPropertyName("description"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Description,
    [property: JsonPropertyName("last_updated")] string LastUpdated,
    [property: JsonPropertyName("layers")] IReadOnlyList<ConfigurationLayer> Layers,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("tenant_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TenantName)
{
    /// <summary>The layers, then the additional inventory when there is one: every repository the configuration names.</summary>
    [JsonIgnore]
    public IEnumerable<ConfigurationLayer> Repositories => AdditionalInventory is null ? Layers : Layers.Append(AdditionalInventory);
}
