using System.Text.Json.Serialization;

namespace Cray.Cfs.LayerCache;

/// <summary>What made a cached layer: the configuration layer's position and name, its repository, commit and playbook.</summary>
public sealed record CachedLayerOrigin(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("clone_url")] string CloneUrl,
    [property: JsonPropertyName("commit")] string Commit,
    [property: JsonPropertyName("playbook")] string Playbook);

/// <summary>
/// One layer in the layer cache: the changes a configuration layer made to an image root, packed
/// by the IMS job that ran it and stored at <see cref="Path"/> in the artifact repository, under
/// the key its inputs hash to (<see cref="LayerKeys"/>). <see cref="PreviousPath"/> is the object of
/// the layer below that it ran on: a layer is reused only on top of that very object.
/// </summary>
public sealed record LayerCacheEntry(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("previous_key")] string? PreviousKey,
    [property: JsonPropertyName("previous_path")] string? PreviousPath,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("md5")] string Md5,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("layer")] CachedLayerOrigin Layer,
    [property: JsonPropertyName("source_image_id")] string SourceImageId,
    [property: JsonPropertyName("source_rootfs_md5")] string SourceRootfsMd5,
    [property: JsonPropertyName("session")] string Session,
    [property: JsonPropertyName("created")] DateTimeOffset Created,
    [property: JsonPropertyName("last_used")] DateTimeOffset LastUsed,
    [property: JsonPropertyName("uses")] int Uses);

/// <summary>What a prune removed.</summary>
public sealed record LayerCachePruning(
    [property: JsonPropertyName("deleted")] IReadOnlyList<string> Deleted,
    [property: JsonPropertyName("freed_bytes")] long FreedBytes,
    [property: JsonPropertyName("remaining_bytes")] long RemainingBytes);
