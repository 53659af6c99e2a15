namespace Cray.Artifacts;

/// <summary>What the artifact repository knows of one stored object.</summary>
public sealed record ArtifactObject(
    string Bucket,
    string Key,
    long Size,
    string Md5,
    DateTimeOffset LastModified,
    string ContentType,
    IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>As in S3 for an object uploaded in one part: the hex MD5 of its content.</summary>
    public string ETag => Md5;

    public string S3Path => ArtifactPath.Format(Bucket, Key);
}

/// <summary>
/// An S3-style object store: buckets of objects addressed by key. Reads and writes stream so that
/// a multi-gigabyte root file system moves with flat memory.
/// </summary>
public interface IArtifactStore
{
    IReadOnlyList<string> ListBuckets();

    bool BucketExists(string bucket);

    void CreateBucket(string bucket);

    /// <summary>Objects whose key starts with <paramref name="prefix"/>, in key order. Throws <see cref="ArtifactNotFoundException"/> for an unknown bucket.</summary>
    IReadOnlyList<ArtifactObject> ListObjects(string bucket, string? prefix = null);

    ArtifactObject? Head(string bucket, string key);

    /// <summary>
    /// The object's content as a local file, when the store keeps it as one (null otherwise, as for a
    /// remote S3): lets a co-located reader such as unsquashfs read it in place instead of copying it.
    /// </summary>
    string? LocalPath(string bucket, string key);

    /// <summary>Opens the object's content for reading, or returns null when there is no such object.</summary>
    Stream? OpenRead(string bucket, string key);

    /// <summary>
    /// Stores the content atomically: readers see either the old object or the whole new one.
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
    /// Stores a local file as an object by moving it into the repository (a rename when it is on the
    /// same file system, a copy otherwise): the file is gone afterwards. For results the server made itself.
    /// </summary>
    Task<ArtifactObject> AdoptFileAsync(
        string bucket,
        string key,
        string filePath,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default);

    /// <summary>Returns false when there was no such object.</summary>
    bool Delete(string bucket, string key);

    /// <summary>
    /// Renames an object within its bucket; returns the moved object, or null when the source does
    /// not exist. It never replaces another object: an existing destination is an <see cref="ArtifactConflictException"/>.
    /// </summary>
    ArtifactObject? Move(string bucket, string sourceKey, string destinationKey);
}

public class ArtifactException(string message) : Exception(message);

/// <summary>A bucket or key that is malformed or would leave the repository's directory.</summary>
public sealed class InvalidArtifactNameException(string message) : ArtifactException(message);

public sealed class ArtifactNotFoundException(string message) : ArtifactException(message);

/// <summary>The key clashes with an existing object, as "a" and "a/b" do in a file-backed store.</summary>
public sealed class ArtifactConflictException(string message) : ArtifactException(message);

public sealed class ArtifactChecksumMismatchException(string message) : ArtifactException(message);
