using Cray.Artifacts;

namespace Cray.Ims.Tests;

/// <summary>A store with its local-path shortcut turned off, as a remote S3 is: every object must be fetched.</summary>
internal sealed class RemoteLikeStore(IArtifactStore inner) : IArtifactStore
{
    public int Reads { get; private set; }

    public Task<IReadOnlyList<string>> ListBucketsAsync(CancellationToken cancellationToken = default) => inner.ListBucketsAsync(cancellationToken);

    public Task<bool> BucketExistsAsync(string bucket, CancellationToken cancellationToken = default) => inner.BucketExistsAsync(bucket, cancellationToken);

    public Task CreateBucketAsync(string bucket, CancellationToken cancellationToken = default) => inner.CreateBucketAsync(bucket, cancellationToken);

    public IAsyncEnumerable<ArtifactSummary> ListObjectsAsync(string bucket, string? prefix = null, CancellationToken cancellationToken = default)
        => inner.ListObjectsAsync(bucket, prefix, cancellationToken);

    public Task<ArtifactObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.HeadAsync(bucket, key, cancellationToken);

    public string? LocalPath(string bucket, string key) => null;

    public Task<ArtifactContent?> OpenReadAsync(string bucket, string key, ArtifactRange? range = null, CancellationToken cancellationToken = default)
    {
        Reads++;
        return inner.OpenReadAsync(bucket, key, range, cancellationToken);
    }

    public Task<ArtifactObject> PutAsync(string bucket, string key, Stream content, IReadOnlyDictionary<string, string>? metadata = null, string? contentType = null,
        string? expectedMd5 = null, CancellationToken cancellationToken = default)
        => inner.PutAsync(bucket, key, content, metadata, contentType, expectedMd5, cancellationToken);

    public Task<ArtifactObject> AdoptFileAsync(string bucket, string key, string filePath, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default)
        => inner.AdoptFileAsync(bucket, key, filePath, metadata, cancellationToken);

    public Task<bool> DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(bucket, key, cancellationToken);

    public Task<ArtifactObject?> MoveAsync(string bucket, string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
        => inner.MoveAsync(bucket, sourceKey, destinationKey, cancellationToken);
}
