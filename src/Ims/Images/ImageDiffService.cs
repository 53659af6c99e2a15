using Cray.Artifacts;
using Cray.Ims.Manifests;
using Cray.Ims.Model;
using Cray.Ims.Validation;
using Cray.Processes;
using Cray.Squashfs;

namespace Cray.Ims.Images;

/// <summary>
/// What changed between two images (ours: <c>GET /images/{id}/diff/{other_id}</c>): their root file
/// systems compared path by path and their package databases compared package by package. A root file
/// system the artifact store keeps as a local file is read where it lies; any other is fetched into
/// <paramref name="temporaryDirectory"/> for the comparison and removed afterwards.
/// </summary>
public sealed class ImageDiffService(ImageService images, IArtifactStore artifacts, IProcessRunner runner, string temporaryDirectory)
{
    /// <summary>A fetched root file system older than this is what a stopped server left behind, never one a comparison still reads.</summary>
    private static readonly TimeSpan LeftoverAge = TimeSpan.FromDays(1);

    private readonly ManifestReader manifests = new(artifacts);

    public async Task<ImageDifference> CompareAsync(string fromId, string toId, CancellationToken cancellationToken)
    {
        var from = await images.GetAsync(fromId, cancellationToken);
        var to = await images.GetAsync(toId, cancellationToken);
        var fromRoot = await RootFileSystemAsync(from, cancellationToken);
        var toRoot = await RootFileSystemAsync(to, cancellationToken);
        RemoveLeftovers();
        using var fromImage = await OpenAsync(from, fromRoot, cancellationToken);
        using var toImage = await OpenAsync(to, toRoot, cancellationToken);
        try
        {
            // Minutes of reading on a large image: off the request's thread, stopped when the client goes.
            var files = await Task.Run(() => ImageFileComparison.Compare(fromImage, toImage, cancellationToken), cancellationToken);
            var (packages, notes) = await new ImagePackages(runner).CompareAsync(fromImage, toImage, cancellationToken);
            return new ImageDifference(new ImageSide(from.Id, from.Name), new ImageSide(to.Id, to.Name), files, packages, notes);
        }
        catch (SquashfsFormatException exception)
        {
            throw ImsProblems.Unprocessable($"Images {from.Id} and {to.Id} cannot be compared: a root file system does not read as squashfs ({exception.Message}).");
        }
    }

    /// <summary>The bucket and key of the image's one root file system, as its manifest lists it.</summary>
    private async Task<(string Bucket, string Key, string Path)> RootFileSystemAsync(Image image, CancellationToken cancellationToken)
    {
        if (image.Link is null)
        {
            throw ImsProblems.Unprocessable($"Image {image.Id} ({image.Name}) has no artifact link: it has no root file system to compare.");
        }
        var manifest = await manifests.TryReadAsync(image.Link, cancellationToken)
            ?? throw ImsProblems.Unprocessable($"The manifest {image.Link.Path} of image {image.Id} could not be read as JSON.");
        var rootFileSystems = manifest.Artifacts.Where(artifact => ArtifactTypes.IsRootFileSystem(artifact.Type)).ToList();
        if (rootFileSystems.Count != 1)
        {
            throw ImsProblems.Unprocessable($"The manifest of image {image.Id} lists {rootFileSystems.Count} {ArtifactTypes.RootFileSystem} artifacts; a comparison needs exactly one.");
        }
        var path = rootFileSystems[0].Link.Path;
        if (!ArtifactPath.TryParse(path, out var bucket, out var key) || await artifacts.HeadAsync(bucket, key, cancellationToken) is null)
        {
            throw ImsProblems.Unprocessable($"The root file system {path} of image {image.Id} is not in the artifact repository.");
        }
        return (bucket, key, path);
    }

    private async Task<SourceImage> OpenAsync(Image image, (string Bucket, string Key, string Path) root, CancellationToken cancellationToken)
    {
        var local = artifacts.LocalPath(root.Bucket, root.Key);
        var fetched = local is null ? await FetchAsync(root, cancellationToken) : null;
        try
        {
            return SourceImage.Open(local ?? fetched!);
        }
        catch (Exception exception) when (exception is SquashfsFormatException or IOException)
        {
            throw ImsProblems.Unprocessable($"The root file system {root.Path} of image {image.Id} is not a squashfs image this server reads: {exception.Message}");
        }
        finally
        {
            // The opened image keeps its own handle: the name can go at once, so nothing is left if the server stops.
            if (fetched is not null)
            {
                File.Delete(fetched);
            }
        }
    }

    private async Task<string> FetchAsync((string Bucket, string Key, string Path) root, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(temporaryDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var target = Path.Combine(temporaryDirectory, $"{Guid.NewGuid():n}.squashfs");
        try
        {
            await using var content = await artifacts.OpenReadAsync(root.Bucket, root.Key, cancellationToken: cancellationToken)
                ?? throw ImsProblems.Unprocessable($"The root file system {root.Path} is no longer in the artifact repository.");
            await using var copy = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
            await content.Stream.CopyToAsync(copy, 1 << 20, cancellationToken);
            return target;
        }
        catch
        {
            File.Delete(target);
            throw;
        }
    }

    /// <summary>Removes what a server stopped in the middle of a fetch left.</summary>
    private void RemoveLeftovers()
    {
        if (!Directory.Exists(temporaryDirectory))
        {
            return;
        }
        foreach (var entry in new DirectoryInfo(temporaryDirectory).EnumerateFileSystemInfos())
        {
            if (DateTime.UtcNow - entry.LastWriteTimeUtc > LeftoverAge)
            {
                if (entry is DirectoryInfo directory)
                {
                    directory.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
        }
    }
}
