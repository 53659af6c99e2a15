using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Artifacts;
using Cray.Ims.Model;
using Cray.Ims.Validation;

namespace Cray.Ims.Manifests;

/// <summary>Reads manifests from the artifact repository and checks them the way the reference does when a link is set.</summary>
public sealed class ManifestReader(IArtifactStore artifacts)
{
    /// <summary>
    /// Full link validation, in the reference's order after the uniqueness check: the object exists,
    /// is at most 1 MiB of JSON, is version 1.0, lists only S3 artifacts that exist, and has exactly one root file system.
    /// </summary>
    public async Task<ImageManifest> ValidateAsync(ArtifactLink link, CancellationToken cancellationToken)
    {
        var head = await ArtifactLinks.RequireObjectAsync(artifacts, link, cancellationToken);
        if (head.Size > ImageManifest.MaximumBytes)
        {
            throw ImsProblems.BadRequest($"The manifest {link.Path} is {head.Size} bytes; a manifest may be at most {ImageManifest.MaximumBytes} bytes.");
        }
        var document = await ReadJsonAsync(head.Bucket, head.Key, cancellationToken) ?? throw ImsProblems.Unprocessable(
            $"The manifest {link.Path} could not be read as JSON. Upload a valid version 1.0 image manifest and re-run the request.");
        if (document["version"] is not JsonValue version || version.GetValueKind() != JsonValueKind.String || version.GetValue<string>() != ImageManifest.CurrentVersion)
        {
            throw ImsProblems.Unprocessable($"The manifest {link.Path} must have \"version\": \"{ImageManifest.CurrentVersion}\".");
        }
        if (document["artifacts"] is not JsonArray entries)
        {
            throw ImsProblems.Unprocessable($"The manifest {link.Path} must have an \"artifacts\" list.");
        }
        var parsed = new List<ManifestArtifact>();
        foreach (var entry in entries)
        {
            var artifact = ParseEntry(entry) ?? throw ImsProblems.Unprocessable(
                $"The manifest {link.Path} has an artifact entry without a link of type s3, a path, and a type.");
            if (!ArtifactPath.TryParse(artifact.Link.Path, out var artifactBucket, out var artifactKey) || await artifacts.HeadAsync(artifactBucket, artifactKey, cancellationToken) is null)
            {
                throw ImsProblems.Unprocessable(ArtifactLinks.CannotValidate(artifact.Link.Path));
            }
            parsed.Add(artifact);
        }
        var rootFileSystems = parsed.Count(artifact => ArtifactTypes.IsRootFileSystem(artifact.Type));
        if (rootFileSystems != 1)
        {
            throw ImsProblems.BadRequest(
                $"The manifest {link.Path} lists {rootFileSystems} artifacts of type {ArtifactTypes.RootFileSystem}; exactly one is required.");
        }
        var created = document["created"] is JsonValue createdValue && createdValue.GetValueKind() == JsonValueKind.String ? createdValue.GetValue<string>() : "";
        return new ImageManifest(parsed, created, ImageManifest.CurrentVersion);
    }

    /// <summary>Best-effort read for housekeeping (delete, undelete): null when the manifest is missing or unreadable.</summary>
    public async Task<ImageManifest?> TryReadAsync(ArtifactLink? link, CancellationToken cancellationToken)
    {
        if (link is null || !ArtifactPath.TryParse(link.Path, out var bucket, out var key))
        {
            return null;
        }
        var head = await artifacts.HeadAsync(bucket, key, cancellationToken);
        if (head is null || head.Size > ImageManifest.MaximumBytes || await ReadJsonAsync(bucket, key, cancellationToken) is not { } document)
        {
            return null;
        }
        if (document["artifacts"] is not JsonArray entries)
        {
            return null;
        }
        var created = document["created"] is JsonValue createdValue && createdValue.GetValueKind() == JsonValueKind.String ? createdValue.GetValue<string>() : "";
        var version = document["version"] is JsonValue versionValue && versionValue.GetValueKind() == JsonValueKind.String ? versionValue.GetValue<string>() : "";
        return new ImageManifest(entries.Select(ParseEntry).OfType<ManifestArtifact>().ToList(), created, version);
    }

    private async Task<JsonObject?> ReadJsonAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        await using var content = await artifacts.OpenReadAsync(bucket, key, cancellationToken: cancellationToken);
        if (content is null || content.Object.Size > ImageManifest.MaximumBytes)
        {
            return null;
        }
        try
        {
            return await JsonNode.ParseAsync(content.Stream, cancellationToken: cancellationToken) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ManifestArtifact? ParseEntry(JsonNode? entry)
    {
        if (entry is not JsonObject artifact || artifact["link"] is not JsonObject link)
        {
            return null;
        }
        var type = StringOf(artifact["type"]);
        var path = StringOf(link["path"]);
        var linkType = StringOf(link["type"]);
        if (type is null || string.IsNullOrEmpty(path) || linkType != ArtifactLink.S3Type)
        {
            return null;
        }
        return new ManifestArtifact(ArtifactLink.S3(path, StringOf(link["etag"])), StringOf(artifact["md5"]) ?? "", type);
    }

    private static string? StringOf(JsonNode? node)
        => node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
}
