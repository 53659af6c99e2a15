using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Cray.Cfs.LayerCache;

/// <summary>
/// What a session's layers share on one image and what changes their results: the image (its id is
/// the host's inventory name, its rootfs checksum its content), the inventory groups it is in, the
/// session's Ansible limit and passthrough (verbosity changes nothing), the ansible.cfg's text, the
/// additional inventory's commit, the Ansible version and whether DKMS is required.
/// </summary>
public sealed record LayerRunFacts(
    string ImageId,
    string SourceRootfsMd5,
    IReadOnlyList<string> Groups,
    string? AnsibleLimit,
    string? AnsiblePassthrough,
    string AnsibleConfigText,
    string? AdditionalInventoryCommit,
    string AnsibleVersion,
    bool RequireDkms);

/// <summary>
/// A layer's cache key: the SHA-256 of everything that decides what the layer makes. It chains the
/// key of the layer before it, so a layer is reused only on top of the very layers it ran on.
/// </summary>
public static class LayerKeys
{
    /// <summary>Changes when what a key covers changes, so that older entries are never taken for newer ones.</summary>
    public const int Version = 1;

    public static string Key(string? previousKey, LayerRunFacts facts, string cloneUrl, string commit, string playbook)
    {
        var inputs = new JsonObject
        {
            ["version"] = Version,
            ["previous_key"] = previousKey,
            ["image_id"] = facts.ImageId.ToLowerInvariant(),
            ["source_rootfs_md5"] = facts.SourceRootfsMd5.ToLowerInvariant(),
            ["groups"] = new JsonArray(facts.Groups.Order(StringComparer.Ordinal).Select(group => (JsonNode?)group).ToArray()),
            ["ansible_limit"] = facts.AnsibleLimit ?? "",
            ["ansible_passthrough"] = facts.AnsiblePassthrough ?? "",
            ["ansible_config_sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(facts.AnsibleConfigText))),
            ["additional_inventory_commit"] = facts.AdditionalInventoryCommit,
            ["ansible_version"] = facts.AnsibleVersion,
            ["require_dkms"] = facts.RequireDkms,
            ["clone_url"] = cloneUrl,
            ["commit"] = commit,
            ["playbook"] = playbook,
        };
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(inputs.ToJsonString())));
    }

    /// <summary>How keys are shown in logs and tables.</summary>
    public static string Short(string key) => key[..Math.Min(12, key.Length)];
}
