using System.Text.Json;
using System.Text.Json.Serialization;
using Cray.Ims.Model;

namespace Cray.Ims.Manifests;

/// <summary>The MIME types of manifest entries; BOS, SAT and CFS read these exact strings.</summary>
public static class ArtifactTypes
{
    public const string RootFileSystem = "application/vnd.cray.image.rootfs.squashfs";
    public const string Kernel = "application/vnd.cray.image.kernel";
    public const string Initrd = "application/vnd.cray.image.initrd";
    public const string BootParameters = "application/vnd.cray.image.parameters.boot";
    public const string DebugKernel = "application/vnd.cray.image.debug.kernel";
    public const string Manifest = "application/vnd.cray.image.manifest";

    /// <summary>The root file system is found by prefix: variants may add a suffix to the type.</summary>
    public static bool IsRootFileSystem(string? type) => type is not null && type.StartsWith(RootFileSystem, StringComparison.Ordinal);
}

public sealed record ManifestArtifact(
    [property: JsonPropertyName("link")] ArtifactLink Link,
    [property: JsonPropertyName("md5")] string Md5,
    [property: JsonPropertyName("type")] string Type);

/// <summary>An image manifest, version 1.0, as jobs and the import command write it.</summary>
public sealed record ImageManifest(
    [property: JsonPropertyName("artifacts")] IReadOnlyList<ManifestArtifact> Artifacts,
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("version")] string Version)
{
    public const string CurrentVersion = "1.0";

    /// <summary>Manifests larger than this are refused: a manifest lists a handful of files.</summary>
    public const long MaximumBytes = 1024 * 1024;

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    public static ImageManifest Create(IReadOnlyList<ManifestArtifact> artifacts, DateTimeOffset created)
        => new(artifacts, created.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture), CurrentVersion);

    public byte[] ToUtf8Bytes() => JsonSerializer.SerializeToUtf8Bytes(this, WriteOptions);

    public ManifestArtifact? RootFileSystem => Artifacts.FirstOrDefault(artifact => ArtifactTypes.IsRootFileSystem(artifact.Type));
}
