using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Cray.Artifacts;

/// <summary>
/// Buckets and keys as files under one directory: <c>buckets/&lt;bucket&gt;/&lt;key&gt;</c> holds the
/// content, <c>metadata/&lt;bucket&gt;/&lt;key&gt;.json</c> its checksum and user metadata, and
/// <c>uploads/</c> the temporary files that become objects by an atomic rename.
/// </summary>
public sealed class FileSystemArtifactStore : IArtifactStore
{
    private const int CopyBufferBytes = 1024 * 1024;
    private const string DefaultContentType = "binary/octet-stream";

    public const string Md5MetadataName = "md5sum";

    private readonly string bucketsDirectory;
    private readonly string metadataDirectory;
    private readonly string uploadsDirectory;

    // Renames of content and metadata happen together under this lock so that a reader never
    // pairs one upload's content with another's checksum.
    private readonly Lock publishLock = new();

    public FileSystemArtifactStore(string rootDirectory)
    {
        var root = Path.GetFullPath(rootDirectory);
        bucketsDirectory = Path.Combine(root, "buckets");
        metadataDirectory = Path.Combine(root, "metadata");
        uploadsDirectory = Path.Combine(root, "uploads");
        Directory.CreateDirectory(bucketsDirectory);
        Directory.CreateDirectory(metadataDirectory);
        Directory.CreateDirectory(uploadsDirectory);
        // Uploads a crash interrupted can never be completed.
        foreach (var leftover in Directory.EnumerateFiles(uploadsDirectory))
        {
            File.Delete(leftover);
        }
    }

    public IReadOnlyList<string> ListBuckets()
        => Directory.EnumerateDirectories(bucketsDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(ArtifactPath.IsValidBucket)
            .Order(StringComparer.Ordinal)
            .ToList();

    public bool BucketExists(string bucket)
        => ArtifactPath.IsValidBucket(bucket) && Directory.Exists(Path.Combine(bucketsDirectory, bucket));

    public void CreateBucket(string bucket)
    {
        ArtifactPath.EnsureValidBucket(bucket);
        Directory.CreateDirectory(Path.Combine(bucketsDirectory, bucket));
        Directory.CreateDirectory(Path.Combine(metadataDirectory, bucket));
    }

    public IReadOnlyList<ArtifactObject> ListObjects(string bucket, string? prefix = null)
    {
        EnsureBucketExists(bucket);
        var bucketDirectory = Path.Combine(bucketsDirectory, bucket);
        var start = bucketDirectory;
        // Only walk the part of the tree the prefix can match.
        if (!string.IsNullOrEmpty(prefix) && prefix.Contains('/'))
        {
            var directoryPart = prefix[..prefix.LastIndexOf('/')];
            if (!ArtifactPath.IsValidKey(directoryPart))
            {
                return [];
            }
            start = Path.Combine(bucketDirectory, directoryPart);
            if (!Directory.Exists(start))
            {
                return [];
            }
        }
        return Directory.EnumerateFiles(start, "*", SearchOption.AllDirectories)
            .Select(file => Path.GetRelativePath(bucketDirectory, file).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(key => string.IsNullOrEmpty(prefix) || key.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(key => Head(bucket, key))
            .OfType<ArtifactObject>()
            .ToList();
    }

    public ArtifactObject? Head(string bucket, string key)
    {
        ArtifactPath.EnsureValid(bucket, key);
        var contentPath = ContentPath(bucket, key);
        var content = new FileInfo(contentPath);
        if (!content.Exists)
        {
            return null;
        }
        var stored = ReadMetadata(bucket, key);
        if (stored is null || stored.Size != content.Length)
        {
            // Content placed by hand or a metadata file lost: describe what is really there.
            stored = new StoredMetadata(ComputeMd5(contentPath), content.Length, DefaultContentType, content.LastWriteTimeUtc, new Dictionary<string, string>());
        }
        return new ArtifactObject(bucket, key, content.Length, stored.Md5, stored.LastModified, stored.ContentType, stored.Metadata);
    }

    public string? LocalPath(string bucket, string key)
    {
        ArtifactPath.EnsureValid(bucket, key);
        var path = ContentPath(bucket, key);
        return File.Exists(path) ? path : null;
    }

    public Stream? OpenRead(string bucket, string key)
    {
        ArtifactPath.EnsureValid(bucket, key);
        try
        {
            return new FileStream(ContentPath(bucket, key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, CopyBufferBytes, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public async Task<ArtifactObject> PutAsync(
        string bucket,
        string key,
        Stream content,
        IReadOnlyDictionary<string, string>? metadata = null,
        string? contentType = null,
        string? expectedMd5 = null,
        CancellationToken cancellationToken = default)
    {
        return await WithUploadFilesAsync(bucket, key, async (temporaryContent, temporaryMetadata) =>
        {
            string md5;
            long size = 0;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5))
            await using (var file = new FileStream(temporaryContent, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
                try
                {
                    int read;
                    while ((read = await content.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                        size += read;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
                md5 = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            if (expectedMd5 is not null && !string.Equals(expectedMd5, md5, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArtifactChecksumMismatchException(
                    $"The content received for {ArtifactPath.Format(bucket, key)} has md5 {md5}, not the {expectedMd5} the client sent; nothing was stored.");
            }
            return await PublishAsync(bucket, key, temporaryContent, temporaryMetadata, md5, size, contentType, metadata, cancellationToken);
        });
    }

    public async Task<ArtifactObject> AdoptFileAsync(
        string bucket,
        string key,
        string filePath,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default)
    {
        return await WithUploadFilesAsync(bucket, key, async (temporaryContent, temporaryMetadata) =>
        {
            try
            {
                File.Move(filePath, temporaryContent);
            }
            catch (IOException)
            {
                // Another file system: fall back to a streamed copy.
                await using var source = new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferBytes, FileOptions.Asynchronous | FileOptions.SequentialScan);
                var copied = await PutAsync(bucket, key, source, metadata, cancellationToken: cancellationToken);
                File.Delete(filePath);
                return copied;
            }
            string md5;
            long size;
            await using (var content = new FileStream(temporaryContent, FileMode.Open, FileAccess.ReadWrite, FileShare.None, CopyBufferBytes, FileOptions.SequentialScan))
            {
                size = content.Length;
                md5 = Convert.ToHexStringLower(await MD5.HashDataAsync(content, cancellationToken));
                content.Flush(flushToDisk: true);
            }
            return await PublishAsync(bucket, key, temporaryContent, temporaryMetadata, md5, size, null, metadata, cancellationToken);
        });
    }

    /// <summary>
    /// Checks the names, then gives a write the two temporary files it fills (content and metadata)
    /// in the uploads directory; whatever the write did not publish is removed afterwards.
    /// </summary>
    private async Task<ArtifactObject> WithUploadFilesAsync(string bucket, string key, Func<string, string, Task<ArtifactObject>> write)
    {
        ArtifactPath.EnsureValid(bucket, key);
        EnsureBucketExists(bucket);
        var uploadId = Guid.NewGuid().ToString("n");
        var temporaryContent = Path.Combine(uploadsDirectory, uploadId);
        var temporaryMetadata = Path.Combine(uploadsDirectory, uploadId + ".json");
        try
        {
            return await write(temporaryContent, temporaryMetadata);
        }
        finally
        {
            File.Delete(temporaryContent);
            File.Delete(temporaryMetadata);
        }
    }

    public bool Delete(string bucket, string key)
    {
        ArtifactPath.EnsureValid(bucket, key);
        lock (publishLock)
        {
            var contentPath = ContentPath(bucket, key);
            if (!File.Exists(contentPath))
            {
                return false;
            }
            File.Delete(contentPath);
            File.Delete(MetadataPath(bucket, key));
            RemoveEmptyParents(contentPath, Path.Combine(bucketsDirectory, bucket));
            RemoveEmptyParents(MetadataPath(bucket, key), Path.Combine(metadataDirectory, bucket));
            return true;
        }
    }

    public ArtifactObject? Move(string bucket, string sourceKey, string destinationKey)
    {
        ArtifactPath.EnsureValid(bucket, sourceKey);
        ArtifactPath.EnsureValid(bucket, destinationKey);
        lock (publishLock)
        {
            var sourceContent = ContentPath(bucket, sourceKey);
            if (!File.Exists(sourceContent))
            {
                return null;
            }
            var destinationContent = ContentPath(bucket, destinationKey);
            var destinationMetadata = MetadataPath(bucket, destinationKey);
            if (File.Exists(destinationContent))
            {
                throw new ArtifactConflictException($"s3://{bucket}/{destinationKey} already exists; a move never replaces another object.");
            }
            EnsureParentDirectory(destinationContent, bucket, destinationKey);
            EnsureParentDirectory(destinationMetadata, bucket, destinationKey);
            var sourceMetadata = MetadataPath(bucket, sourceKey);
            if (File.Exists(sourceMetadata))
            {
                File.Move(sourceMetadata, destinationMetadata, overwrite: true);
            }
            File.Move(sourceContent, destinationContent, overwrite: true);
            RemoveEmptyParents(sourceContent, Path.Combine(bucketsDirectory, bucket));
            RemoveEmptyParents(sourceMetadata, Path.Combine(metadataDirectory, bucket));
        }
        return Head(bucket, destinationKey);
    }

    /// <summary>Records a finished upload's checksum and metadata, then moves both into place together.</summary>
    private async Task<ArtifactObject> PublishAsync(string bucket, string key, string temporaryContent, string temporaryMetadata,
        string md5, long size, string? contentType, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var userMetadata = metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(metadata);
        // IMS reads the checksum from the object's md5sum metadata, as the reference's uploaders set it.
        userMetadata.TryAdd(Md5MetadataName, md5);
        var stored = new StoredMetadata(md5, size, string.IsNullOrWhiteSpace(contentType) ? DefaultContentType : contentType, DateTimeOffset.UtcNow, userMetadata);
        await WriteDurablyAsync(temporaryMetadata, JsonSerializer.SerializeToUtf8Bytes(stored), cancellationToken);
        lock (publishLock)
        {
            var contentPath = ContentPath(bucket, key);
            var metadataPath = MetadataPath(bucket, key);
            EnsureParentDirectory(contentPath, bucket, key);
            EnsureParentDirectory(metadataPath, bucket, key);
            if (Directory.Exists(contentPath))
            {
                throw new ArtifactConflictException($"The key '{key}' is a prefix of other objects in bucket '{bucket}'; choose another key.");
            }
            File.Move(temporaryMetadata, metadataPath, overwrite: true);
            File.Move(temporaryContent, contentPath, overwrite: true);
        }
        return new ArtifactObject(bucket, key, size, md5, stored.LastModified, stored.ContentType, stored.Metadata);
    }

    private void EnsureBucketExists(string bucket)
    {
        ArtifactPath.EnsureValidBucket(bucket);
        if (!Directory.Exists(Path.Combine(bucketsDirectory, bucket)))
        {
            throw new ArtifactNotFoundException($"The bucket '{bucket}' does not exist.");
        }
    }

    private string ContentPath(string bucket, string key) => Contained(Path.Combine(bucketsDirectory, bucket), key, "");

    private string MetadataPath(string bucket, string key) => Contained(Path.Combine(metadataDirectory, bucket), key, ".json");

    /// <summary>Joins the key to its bucket directory and proves the result stays inside it.</summary>
    private static string Contained(string bucketDirectory, string key, string suffix)
    {
        var full = Path.GetFullPath(Path.Combine(bucketDirectory, key) + suffix);
        if (!full.StartsWith(bucketDirectory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidArtifactNameException($"Invalid key '{key}': it leaves its bucket.");
        }
        return full;
    }

    private static void EnsureParentDirectory(string path, string bucket, string key)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        }
        catch (IOException)
        {
            throw new ArtifactConflictException($"The key '{key}' lies under an existing object in bucket '{bucket}'; choose another key.");
        }
    }

    private static void RemoveEmptyParents(string path, string stopAt)
    {
        var directory = Path.GetDirectoryName(path);
        while (directory is not null && directory.Length > stopAt.Length && Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
            directory = Path.GetDirectoryName(directory);
        }
    }

    private StoredMetadata? ReadMetadata(string bucket, string key)
    {
        try
        {
            return JsonSerializer.Deserialize<StoredMetadata>(File.ReadAllBytes(MetadataPath(bucket, key)));
        }
        catch (Exception exception) when (exception is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static async Task WriteDurablyAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
        await file.WriteAsync(bytes, cancellationToken);
        file.Flush(flushToDisk: true);
    }

    private static string ComputeMd5(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferBytes, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }

    private sealed record StoredMetadata(string Md5, long Size, string ContentType, DateTimeOffset LastModified, Dictionary<string, string> Metadata);
}
