namespace Cray.Artifacts;

/// <summary>What the artifact repository knows of one stored object.</summary>
/// <param name="ETag">The store's entity tag, without quotes: an object's md5 only when it was stored in one part.</param>
/// <param name="Md5">
/// The content's md5 in lowercase hex when known: the <c>md5sum</c> metadata the uploader recorded, or
/// the ETag of a single-part upload. Null for an object another tool uploaded in parts without it.
/// </param>
public sealed record ArtifactObject(
    string Bucket,
    string Key,
    long Size,
    string ETag,
    string? Md5,
    DateTimeOffset LastModified,
    string ContentType,
    IReadOnlyDictionary<string, string> Metadata)
{
    public const string Md5MetadataName = "md5sum";

    public const string DefaultContentType = "binary/octet-stream";

    public string S3Path => ArtifactPath.Format(Bucket, Key);

    public ArtifactSummary ToSummary() => new(Bucket, Key, Size, ETag, LastModified);

    /// <summary>The md5 an S3 store's object carries: its md5sum metadata, else its ETag when that is a plain md5.</summary>
    public static string? KnownMd5(string eTag, IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.TryGetValue(Md5MetadataName, out var recorded) && IsMd5(recorded))
        {
            return recorded.ToLowerInvariant();
        }
        return IsMd5(eTag) ? eTag.ToLowerInvariant() : null;
    }

    private static bool IsMd5(string text) => text.Length == 32 && text.All(char.IsAsciiHexDigit);
}

/// <summary>One entry of a bucket listing: what S3's ListObjects tells of an object, no more.</summary>
public sealed record ArtifactSummary(string Bucket, string Key, long Size, string ETag, DateTimeOffset LastModified);

/// <summary>Bytes <c>Offset</c> to <c>Offset + Length - 1</c> of an object.</summary>
public readonly record struct ArtifactRange(long Offset, long Length)
{
    public long Last => Offset + Length - 1;

    public void EnsureWithin(ArtifactObject artifact)
    {
        if (Offset < 0 || Length <= 0 || Offset + Length > artifact.Size)
        {
            throw new ArtifactRangeNotSatisfiableException(
                $"Bytes {Offset}-{Last} are not within {artifact.S3Path}, which holds {artifact.Size} bytes.");
        }
    }
}

/// <summary>An opened object: its description, the range being read, and the stream of exactly those bytes.</summary>
public sealed class ArtifactContent(ArtifactObject artifact, ArtifactRange range, Stream stream) : IAsyncDisposable, IDisposable
{
    public ArtifactObject Object { get; } = artifact;

    public ArtifactRange Range { get; } = range;

    public Stream Stream { get; } = stream;

    public bool IsPartial => Range.Offset != 0 || Range.Length != Object.Size;

    public ValueTask DisposeAsync() => Stream.DisposeAsync();

    public void Dispose() => Stream.Dispose();
}

/// <summary>
/// An S3-shaped object store: buckets of objects addressed by key. Every operation may cross the
/// network, so all are asynchronous; reads and writes stream so that a multi-gigabyte root file
/// system moves with flat memory.
/// </summary>
public interface IArtifactStore
{
    Task<IReadOnlyList<string>> ListBucketsAsync(CancellationToken cancellationToken = default);

    Task<bool> BucketExistsAsync(string bucket, CancellationToken cancellationToken = default);

    /// <summary>Creates the bucket; nothing happens when it exists already.</summary>
    Task CreateBucketAsync(string bucket, CancellationToken cancellationToken = default);

    /// <summary>Objects whose key starts with <paramref name="prefix"/>, in key order. Throws <see cref="ArtifactNotFoundException"/> for an unknown bucket.</summary>
    IAsyncEnumerable<ArtifactSummary> ListObjectsAsync(string bucket, string? prefix = null, CancellationToken cancellationToken = default);

    Task<ArtifactObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The object's content as a local file, when the store keeps it as one (null otherwise, as for
    /// S3): lets a co-located reader such as unsquashfs read it in place instead of copying it.
    /// </summary>
    string? LocalPath(string bucket, string key);

    /// <summary>
    /// Opens the object (or the part of it <paramref name="range"/> names, which must lie within it)
    /// for reading, or returns null when there is no such object.
    /// </summary>
    Task<ArtifactContent?> OpenReadAsync(string bucket, string key, ArtifactRange? range = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores the content atomically: readers see either the old object or the whole new one. The
    /// content's md5 is computed on the way and recorded as the object's <c>md5sum</c> metadata.
    /// When <paramref name="expectedMd5"/> is given and the content does not match it, nothing is stored.
    /// </summary>
    Task<ArtifactObject> PutAsync(
        string bucket,
        string key,
        Stream content,
        IReadOnlyDictionary<string, string>? metadata = null,
        string? contentType = null,
        string? expectedMd5 = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a local file as an object and removes the file: a rename when the store keeps files on
    /// the same file system, an upload otherwise. For results the server made itself.
    /// </summary>
    Task<ArtifactObject> AdoptFileAsync(
        string bucket,
        string key,
        string filePath,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default);

    /// <summary>Returns false when there was no such object.</summary>
    Task<bool> DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Renames an object within its bucket; returns the moved object, or null when the source does
    /// not exist. It never replaces another object: an existing destination is an <see cref="ArtifactConflictException"/>.
    /// </summary>
    Task<ArtifactObject?> MoveAsync(string bucket, string sourceKey, string destinationKey, CancellationToken cancellationToken = default);
}

public class ArtifactException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A bucket or key that is malformed or would leave the repository's directory.</summary>
public sealed class InvalidArtifactNameException(string message) : ArtifactException(message);

public sealed class ArtifactNotFoundException(string message) : ArtifactException(message);

/// <summary>The key clashes with an existing object, as "a" and "a/b" do in a file-backed store.</summary>
public sealed class ArtifactConflictException(string message) : ArtifactException(message);

public sealed class ArtifactChecksumMismatchException(string message) : ArtifactException(message);

/// <summary>A range that does not lie within the object.</summary>
public sealed class ArtifactRangeNotSatisfiableException(string message) : ArtifactException(message);

/// <summary>The object store cannot be reached or refused the server's credentials: the operator's problem, not the client's.</summary>
public sealed class ArtifactStoreUnavailableException(string message, Exception? inner = null) : ArtifactException(message, inner);
