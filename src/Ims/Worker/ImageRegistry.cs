using Cray.Ims.Images;
using Cray.Ims.Model;
using Cray.Platform.Problems;

namespace Cray.Ims.Worker;

/// <summary>
/// What a worker needs of IMS's image records to register a result, and nothing more, so that a
/// worker on another machine can do it through IMS's HTTP API (POST /images, PATCH /images/{id}
/// with the link, GET /images/{id}, DELETE /v2/images/{id}?cascade=true) as well as in-process.
/// </summary>
public interface IImageRegistry
{
    /// <summary>A new image record without a link; its id names the result's objects.</summary>
    Task<string> RegisterAsync(string name, string arch, CancellationToken cancellationToken);

    /// <summary>Links the record to its uploaded manifest: from then on the image is complete.</summary>
    Task LinkAsync(string imageId, ArtifactLink manifest, CancellationToken cancellationToken);

    /// <summary>Whether the record is linked; null when IMS has no such image.</summary>
    Task<bool?> IsLinkedAsync(string imageId, CancellationToken cancellationToken);

    /// <summary>Removes the record and what its link names; an image already gone is no error.</summary>
    Task RemoveAsync(string imageId, CancellationToken cancellationToken);
}

/// <summary>The registry of a worker that runs in the API's process: IMS's own image service.</summary>
public sealed class LocalImageRegistry(ImageService images) : IImageRegistry
{
    public async Task<string> RegisterAsync(string name, string arch, CancellationToken cancellationToken)
        => (await images.CreateAsync(new ImageCreate(name, null, arch, new Dictionary<string, string>()), cancellationToken)).Id;

    public Task LinkAsync(string imageId, ArtifactLink manifest, CancellationToken cancellationToken)
        => images.PatchAsync(imageId, new ImagePatch(manifest, null, null), cancellationToken);

    public async Task<bool?> IsLinkedAsync(string imageId, CancellationToken cancellationToken)
    {
        try
        {
            return (await images.GetAsync(imageId, cancellationToken)).Link is not null;
        }
        catch (ProblemException exception) when (exception.Status == 404)
        {
            return null;
        }
    }

    public async Task RemoveAsync(string imageId, CancellationToken cancellationToken)
    {
        try
        {
            await images.HardDeleteAsync(imageId, cascade: true, cancellationToken);
        }
        catch (ProblemException exception) when (exception.Status == 404)
        {
            // Already gone.
        }
    }
}
