using System.Text.Json.Serialization;

namespace Cray.Ims.Images;

// The answer of GET /images/{id}/diff/{other_id} (ours). Keys are snake_case as in the rest of IMS.

public sealed record ImageDifference(
    [property: JsonPropertyName("from")] ImageSide From,
    [property: JsonPropertyName("to")] ImageSide To,
    [property: JsonPropertyName("files")] FileDifferences Files,
    [property: JsonPropertyName("packages")] PackageDifferences? Packages,
    [property: JsonPropertyName("notes")] IReadOnlyList<string> Notes);

public sealed record ImageSide(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name);

/// <summary>Paths only one image has, and paths both have whose attributes or content differ; each list in path order.</summary>
public sealed record FileDifferences(
    [property: JsonPropertyName("added")] IReadOnlyList<FileEntry> Added,
    [property: JsonPropertyName("removed")] IReadOnlyList<FileEntry> Removed,
    [property: JsonPropertyName("changed")] IReadOnlyList<ChangedFile> Changed);

/// <summary>One path of one image. Size is a regular file's; the link target a symbolic link's; the device (major:minor) a device's.</summary>
public sealed record FileEntry(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("uid")] uint Uid,
    [property: JsonPropertyName("gid")] uint Gid,
    [property: JsonPropertyName("size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ulong? Size = null,
    [property: JsonPropertyName("link_target"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LinkTarget = null,
    [property: JsonPropertyName("device"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Device = null);

public sealed record ChangedFile(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("changes")] FileChanges Changes);

/// <summary>
/// What differs at one path, each as [from, to]; only what differs is present. The sha256 pair is
/// given when a regular file's content changed at the same size (a size change says so already).
/// Extended attributes are the names whose values were added, removed or changed.
/// </summary>
public sealed record FileChanges
{
    [JsonPropertyName("type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Type { get; init; }

    [JsonPropertyName("mode"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Mode { get; init; }

    [JsonPropertyName("uid"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<uint>? Uid { get; init; }

    [JsonPropertyName("gid"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<uint>? Gid { get; init; }

    [JsonPropertyName("size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ulong>? Size { get; init; }

    [JsonPropertyName("link_target"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? LinkTarget { get; init; }

    [JsonPropertyName("device"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Device { get; init; }

    [JsonPropertyName("sha256"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Sha256 { get; init; }

    [JsonPropertyName("xattrs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? ExtendedAttributes { get; init; }

    [JsonIgnore]
    public bool Any => this != new FileChanges();
}

/// <summary>Installed packages of both images' databases (dpkg or rpm), compared by name and architecture.</summary>
public sealed record PackageDifferences(
    [property: JsonPropertyName("manager")] string Manager,
    [property: JsonPropertyName("added")] IReadOnlyList<PackageEntry> Added,
    [property: JsonPropertyName("removed")] IReadOnlyList<PackageEntry> Removed,
    [property: JsonPropertyName("upgraded")] IReadOnlyList<PackageChange> Upgraded,
    [property: JsonPropertyName("downgraded")] IReadOnlyList<PackageChange> Downgraded);

public sealed record PackageEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("architecture")] string Architecture);

public sealed record PackageChange(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("architecture")] string Architecture,
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To);
