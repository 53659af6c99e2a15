using Cray.Artifacts;
using Cray.Ims.Manifests;
using Cray.Ims.Model;
using Cray.Ims.Validation;
using Cray.Platform;
using Cray.Platform.Storage;
using Microsoft.Extensions.Logging;

namespace Cray.Ims.Images;

/// <summary>
/// The image registry: records in the store, their files in the artifact repository. Soft delete
/// (v3) moves both aside so that undelete can restore them exactly; hard delete (v2 and the
/// unversioned root) removes the record and, with cascade, the files.
/// </summary>
public sealed class ImageService(IRecordStore store, IArtifactStore artifacts, TimeProvider clock, ILogger<ImageService> logger)
    : SoftDeletableRecords<Image, DeletedImage>(store, ImsCollections.Images, ImsCollections.DeletedImages)
{
    public const string DeletedManifestName = "deleted_manifest.json";

    private readonly ManifestReader manifests = new(artifacts);


    public Task<Image> CreateAsync(ImageCreate request, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () =>
        {
            if (request.Link is not null)
            {
                await ValidateNewLinkAsync(request.Link, exceptImageId: null, cancellationToken);
            }
            var image = new Image(request.Arch, Now(), Guid.NewGuid().ToString(), request.Link, request.Metadata, request.Name);
            await Store.WriteAsync(RecordWrite.Insert(ImsCollections.Images, image.Id, image), cancellationToken);
            // An import's steps in the server's log: the record, then (once the files are up) its link.
            logger.LogInformation("IMS image {ImageId} ({Name}): created{Linked}.", image.Id, image.Name, image.Link is null ? "" : $", linked to {image.Link.Path}");
            return image;
        }, cancellationToken);

    public Task<Image> PatchAsync(string id, ImagePatch patch, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () =>
        {
            var image = await GetAsync(id, cancellationToken);
            var linkBefore = image.Link;
            image = image with
            {
                Link = await ArtifactLinks.PatchedAsync(image.Link, patch.Link, link => ValidateNewLinkAsync(link, exceptImageId: id, cancellationToken)),
            };
            if (patch.Arch is not null)
            {
                image = image with { Arch = patch.Arch };
            }
            if (patch.Metadata is { } change)
            {
                var metadata = new Dictionary<string, string>(image.Metadata);
                if (change.Operation == MetadataOperation.Set)
                {
                    metadata[change.Key] = change.Value;
                }
                else
                {
                    metadata.Remove(change.Key);
                }
                image = image with { Metadata = metadata };
            }
            await Store.WriteAsync(RecordWrite.Upsert(ImsCollections.Images, id, image), cancellationToken);
            if (image.Link is { } link && link != linkBefore)
            {
                logger.LogInformation("IMS image {ImageId} ({Name}): linked to {Path}.", image.Id, image.Name, link.Path);
            }
            return image;
        }, cancellationToken);

    private async Task ValidateNewLinkAsync(ArtifactLink link, string? exceptImageId, CancellationToken cancellationToken)
    {
        var images = await ListAsync(cancellationToken);
        var holder = images.FirstOrDefault(image => image.Id != exceptImageId && image.Link is not null && image.Link.Path == link.Path);
        if (holder is not null)
        {
            throw ArtifactLinks.DuplicatePath("Image", holder.Id, link.Path);
        }
        await manifests.ValidateAsync(link, cancellationToken);
    }

    protected override async Task SoftDeleteLockedAsync(Image image, CancellationToken cancellationToken)
    {
        var link = image.Link;
        var manifest = await manifests.TryReadAsync(image.Link, cancellationToken);
        if (manifest is not null && ArtifactPath.TryParse(image.Link!.Path, out var bucket, out var manifestKey))
        {
            link = await MoveArtifactsAsideAsync(image.Id, manifest, bucket, manifestKey, cancellationToken);
        }
        await Store.WriteAsync(
            [
                RecordWrite.Delete(ImsCollections.Images, image.Id),
                RecordWrite.Insert(ImsCollections.DeletedImages, image.Id, image.ToDeleted(Now(), link)),
            ],
            cancellationToken);
    }

    /// <summary>
    /// Moves every listed file and the manifest to <c>deleted/&lt;key&gt;</c> and records them in a
    /// deleted manifest. A failure part-way moves back what was already moved.
    /// </summary>
    private async Task<ArtifactLink> MoveArtifactsAsideAsync(string imageId, ImageManifest manifest, string manifestBucket, string manifestKey, CancellationToken cancellationToken)
    {
        var moved = new List<(string Bucket, string Key)>();
        try
        {
            var entries = new List<ManifestArtifact>();
            foreach (var artifact in manifest.Artifacts)
            {
                if (!ArtifactPath.TryParse(artifact.Link.Path, out var bucket, out var key) || key.StartsWith(ArtifactLinks.DeletedPrefix, StringComparison.Ordinal))
                {
                    continue;
                }
                // Files that are already gone are skipped, as the reference does.
                if (await MoveWithoutOverwriteAsync(bucket, key, ArtifactLinks.DeletedPrefix + key, cancellationToken) is { } result)
                {
                    moved.Add((bucket, key));
                    entries.Add(new ManifestArtifact(ArtifactLink.S3(result.S3Path, result.ETag), artifact.Md5, artifact.Type));
                }
            }
            if (await MoveWithoutOverwriteAsync(manifestBucket, manifestKey, ArtifactLinks.DeletedPrefix + manifestKey, cancellationToken) is { } movedManifest)
            {
                moved.Add((manifestBucket, manifestKey));
                entries.Add(new ManifestArtifact(ArtifactLink.S3(movedManifest.S3Path, movedManifest.ETag), movedManifest.Md5 ?? "", ArtifactTypes.Manifest));
            }
            var deletedManifest = ImageManifest.Create(entries, clock.GetUtcNow());
            using var content = new MemoryStream(deletedManifest.ToUtf8Bytes());
            var stored = await artifacts.PutAsync(manifestBucket, $"{ArtifactLinks.DeletedPrefix}{imageId}/{DeletedManifestName}", content,
                contentType: "application/json", cancellationToken: cancellationToken);
            return ArtifactLink.S3(stored.S3Path, stored.ETag);
        }
        catch
        {
            foreach (var (bucket, key) in moved)
            {
                await artifacts.MoveAsync(bucket, ArtifactLinks.DeletedPrefix + key, key, CancellationToken.None);
            }
            throw;
        }
    }

    protected override async Task UndeleteLockedAsync(DeletedImage deleted, CancellationToken cancellationToken)
    {
        var link = deleted.Link;
        var deletedManifest = await manifests.TryReadAsync(deleted.Link, cancellationToken);
        if (deletedManifest is not null && ArtifactPath.TryParse(deleted.Link!.Path, out var deletedManifestBucket, out var deletedManifestKey))
        {
            var moves = new List<(ManifestArtifact Artifact, string Bucket, string Key)>();
            foreach (var artifact in deletedManifest.Artifacts)
            {
                if (ArtifactPath.TryParse(artifact.Link.Path, out var bucket, out var key) && key.StartsWith(ArtifactLinks.DeletedPrefix, StringComparison.Ordinal))
                {
                    moves.Add((artifact, bucket, key));
                }
            }
            // Checked before anything moves: another image may have taken these paths since the delete.
            foreach (var move in moves)
            {
                var original = move.Key[ArtifactLinks.DeletedPrefix.Length..];
                if (await artifacts.HeadAsync(move.Bucket, original, cancellationToken) is not null)
                {
                    throw ImsProblems.Unprocessable($"Image {deleted.Id} cannot be undeleted: s3://{move.Bucket}/{original} exists again.");
                }
            }
            foreach (var (artifact, bucket, key) in moves)
            {
                var restored = await artifacts.MoveAsync(bucket, key, key[ArtifactLinks.DeletedPrefix.Length..], cancellationToken);
                if (restored is not null && artifact.Type == ArtifactTypes.Manifest)
                {
                    link = ArtifactLink.S3(restored.S3Path, restored.ETag);
                }
            }
            await artifacts.DeleteAsync(deletedManifestBucket, deletedManifestKey, cancellationToken);
        }
        await Store.WriteAsync(
            [
                RecordWrite.Delete(ImsCollections.DeletedImages, deleted.Id),
                RecordWrite.Insert(ImsCollections.Images, deleted.Id, deleted.ToImage(link)),
            ],
            cancellationToken);
    }

    protected override async Task HardDeleteLockedAsync(Image image, bool cascade, CancellationToken cancellationToken)
    {
        await Store.WriteAsync(RecordWrite.Delete(ImsCollections.Images, image.Id), cancellationToken);
        if (cascade)
        {
            await DeleteListedFilesAsync(image.Link, cancellationToken);
        }
    }

    protected override async Task PurgeLockedAsync(DeletedImage deleted, CancellationToken cancellationToken)
    {
        await Store.WriteAsync(RecordWrite.Delete(ImsCollections.DeletedImages, deleted.Id), cancellationToken);
        // Only files this image moved aside are its own: a link kept at delete time (its manifest
        // could not be read) may name another image's files by now.
        if (deleted.Link is not null && ArtifactPath.TryParse(deleted.Link.Path, out _, out var key) && key.StartsWith(ArtifactLinks.DeletedPrefix, StringComparison.Ordinal))
        {
            await DeleteListedFilesAsync(deleted.Link, cancellationToken);
        }
    }

    /// <summary>Moves a file aside; the store refuses to move onto another file, as two images may have used one path at different times.</summary>
    private async Task<ArtifactObject?> MoveWithoutOverwriteAsync(string bucket, string from, string to, CancellationToken cancellationToken)
    {
        try
        {
            return await artifacts.MoveAsync(bucket, from, to, cancellationToken);
        }
        catch (ArtifactConflictException)
        {
            throw ImsProblems.Unprocessable($"s3://{bucket}/{from} cannot be moved to s3://{bucket}/{to}: another image's file is there.");
        }
    }

    /// <summary>Deletes every file a manifest lists, then the manifest itself; missing files are skipped.</summary>
    private async Task DeleteListedFilesAsync(ArtifactLink? manifestLink, CancellationToken cancellationToken)
    {
        foreach (var artifact in (await manifests.TryReadAsync(manifestLink, cancellationToken))?.Artifacts ?? [])
        {
            if (ArtifactPath.TryParse(artifact.Link.Path, out var bucket, out var key))
            {
                await artifacts.DeleteAsync(bucket, key, cancellationToken);
            }
        }
        if (manifestLink is not null && ArtifactPath.TryParse(manifestLink.Path, out var manifestBucket, out var manifestKey))
        {
            await artifacts.DeleteAsync(manifestBucket, manifestKey, cancellationToken);
        }
    }

    private string Now() => Timestamps.Format(clock.GetUtcNow());
}
