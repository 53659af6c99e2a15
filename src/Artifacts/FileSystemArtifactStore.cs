using System.Buffers;
using System.Runtime.CompilerServices;
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

    public Task<IReadOnlyList<string>> ListBucketsAsync(CancellationToken cancellationToken = default)
        => Task.FromResult<IReadOnlyList<string>>(Directory.EnumerateDirectories(bucketsDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(ArtifactPath.IsValidBucket)
            .Order(StringComparer.Ordinal)
            .ToList());

    public Task<bool> BucketExistsAsync(string bucket, CancellationToken cancellationToken = default)
        => Task.FromResult(ArtifactPath.IsValidBucket(bucket) && Directory.Exists(Path.Combine(bucketsDirectory, bucket)));

    public Task CreateBucketAsync(string bucket, CancellationToken cancellationToken = default)
    {
        ArtifactPath.EnsureValidBucket(bucket);
        Directory.CreateDirectory(Path.Combine(bucketsDirectory, bucket));
        Directory.CreateDirectory(Path.Combine(metadataDirectory, bucket));
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<ArtifactSummary> ListObjectsAsync(string bucket, string? prefix = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var key in ListKeys(bucket, prefix))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Describe(bucket, key) is { } artifact)
            {
                yield return new ArtifactSummary(bucket, key, artifact.Size, artifact.ETag, artifact.LastModified);
            }
        }
        await Task.CompletedTask;
    }

    private List<string> ListKeys(string bucket, string? prefix)
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
            .ToList();
    }

    public Task<ArtifactObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default)
        => Task.FromResult(Describe(bucket, key));

    private ArtifactObject? Describe(string bucket, string key)
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
            stored = new StoredMetadata(ComputeMd5(contentPath), content.Length, ArtifactObject.DefaultContentType, content.LastWriteTimeUtc, new Dictionary<string, string>());
        }
        return new ArtifactObject(bucket, key, content.Length, stored.Md5, stored.Md5, stored.LastModified, stored.ContentType, stored.Metadata);
    }

    public string? LocalPath(string bucket, string key)
    {
        ArtifactPath.EnsureValid(bucket, key);
        var path = ContentPath(bucket, key);
        return File.Exists(path) ? path : null;
    }

    public Task<ArtifactContent?> OpenReadAsync(string bucket, string key, ArtifactRange? range = null, CancellationToken cancellationToken = default)
    {
        ArtifactPath.EnsureValid(bucket, key);
        FileStream file;
        try
        {
            file = new FileStream(ContentPath(bucket, key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, CopyBufferBytes, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return Task.FromResult<ArtifactContent?>(null);
        }
        try
        {
            // Described after opening, so the size is the opened file's even if a put replaces it meanwhile.
            var artifact = Describe(bucket, key) ?? throw new FileNotFoundException();
            artifact = artifact with { Size = file.Length };
            var whole = new ArtifactRange(0, file.Length);
            var read = range ?? whole;
            read.EnsureWithin(artifact);
            file.Position = read.Offset;
            Stream stream = read == whole ? file : new LimitedReadStream(file, read.Length);
            return Task.FromResult<ArtifactContent?>(new ArtifactContent(artifact, read, stream));
        }
        catch (FileNotFoundException)
        {
            file.Dispose();
            return Task.FromResult<ArtifactContent?>(null);
        }
        catch
        {
            file.Dispose();
            throw;
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

    public Task<bool> DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default)
        => Task.FromResult(Delete(bucket, key));

    private bool Delete(string bucket, string key)
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

    public Task<ArtifactObject?> MoveAsync(string bucket, string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
        => Task.FromResult(Move(bucket, sourceKey, destinationKey));

    private ArtifactObject? Move(string bucket, string sourceKey, string destinationKey)
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
        return Describe(bucket, destinationKey);
    }

    /// <summary>Records a finished upload's checksum and metadata, then moves both into place together.</summary>
    private async Task<ArtifactObject> PublishAsync(string bucket, string key, string temporaryContent, string temporaryMetadata,
        string md5, long size, string? contentType, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var userMetadata = metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(metadata);
        // IMS reads the checksum from the object's md5sum metadata, as the reference's uploaders set it; the computed one is the truth.
        userMetadata[ArtifactObject.Md5MetadataName] = md5;
        var stored = new StoredMetadata(md5, size, string.IsNullOrWhiteSpace(contentType) ? ArtifactObject.DefaultContentType : contentType, DateTimeOffset.UtcNow, userMetadata);
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
        return new ArtifactObject(bucket, key, size, md5, md5, stored.LastModified, stored.ContentType, stored.Metadata);
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
