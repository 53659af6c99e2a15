using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Util;

namespace Cray.Artifacts;

/// <summary>Where an S3 artifact store is and how it uploads.</summary>
public sealed record S3ArtifactStoreOptions
{
    public required Uri Endpoint { get; init; }

    public string Region { get; init; } = "us-east-1";

    /// <summary>Null: the AWS SDK's usual sources (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the shared credentials file).</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>Content up to this size is one PutObject; larger content is a multipart upload of parts this size.</summary>
    public int PartSizeBytes { get; init; } = 8 << 20;

    /// <summary>Parts of one upload in flight at once: memory per upload is (this + 1) parts.</summary>
    public int ConcurrentParts { get; init; } = 4;

    /// <summary>Objects up to this size are copied by one CopyObject (S3's limit is 5 GiB); larger ones part by part.</summary>
    public long SingleCopyLimitBytes { get; init; } = 5L << 30;

    /// <summary>The part size of a part-by-part copy.</summary>
    public long CopyPartSizeBytes { get; init; } = 1L << 30;
}

/// <summary>
/// Buckets and objects in an S3 service such as Ceph's RADOS Gateway. An upload streams in parts
/// (never the whole object in memory) with its md5 computed on the way and recorded as the
/// object's <c>md5sum</c> metadata, since the ETag of a multipart upload is not the content's md5.
/// Moves are a copy, then the source's deletion; no lock is held while S3 copies.
/// </summary>
public sealed class S3ArtifactStore : IArtifactStore, IDisposable
{
    private const string MetadataHeaderPrefix = "x-amz-meta-";

    private readonly IAmazonS3 client;
    private readonly S3ArtifactStoreOptions options;

    // Part buffers come from a pool of this store's own: the shared pool keeps a buffer per thread
    // that returned one, which for parts of megabytes is most of the server's memory.
    private readonly ArrayPool<byte> partBuffers;

    public S3ArtifactStore(S3ArtifactStoreOptions options)
    {
        this.options = options;
        partBuffers = ArrayPool<byte>.Create(options.PartSizeBytes, 2 * (options.ConcurrentParts + 1));
        var config = ClientConfig(options.Endpoint, options.Region);
        client = options.Credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(options.Credentials, config);
    }

    /// <summary>How an AWS SDK client must talk to a RADOS Gateway (path-style, no trailing checksums); tests that read the gateway directly use it too.</summary>
    public static AmazonS3Config ClientConfig(Uri endpoint, string region) => new()
    {
        ServiceURL = endpoint.ToString(),
        ForcePathStyle = true,
        AuthenticationRegion = region,
        // The SDK's default trailing CRC checksums (aws-chunked with a trailer) are newer than
        // the RADOS Gateways sites run; the content's integrity is checked by its md5 instead.
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        MaxErrorRetry = 2,
    };

    public void Dispose() => client.Dispose();

    public async Task<IReadOnlyList<string>> ListBucketsAsync(CancellationToken cancellationToken = default)
    {
        var response = await CallAsync(() => client.ListBucketsAsync(cancellationToken), null);
        return (response.Buckets ?? []).Select(bucket => bucket.BucketName).Order(StringComparer.Ordinal).ToList();
    }

    public async Task<bool> BucketExistsAsync(string bucket, CancellationToken cancellationToken = default)
        => ArtifactPath.IsValidBucket(bucket) && await CallAsync(() => AmazonS3Util.DoesS3BucketExistV2Async(client, bucket), null);

    public async Task CreateBucketAsync(string bucket, CancellationToken cancellationToken = default)
    {
        ArtifactPath.EnsureValidBucket(bucket);
        try
        {
            await CallAsync(() => client.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, cancellationToken), bucket);
        }
        catch (ArtifactConflictException)
        {
            // Ours already: creating it is done.
        }
    }

    public async IAsyncEnumerable<ArtifactSummary> ListObjectsAsync(string bucket, string? prefix = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactPath.EnsureValidBucket(bucket);
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = string.IsNullOrEmpty(prefix) ? null : prefix };
        while (true)
        {
            var page = await CallAsync(() => client.ListObjectsV2Async(request, cancellationToken), bucket);
            foreach (var entry in page.S3Objects ?? [])
            {
                yield return new ArtifactSummary(bucket, entry.Key, entry.Size ?? 0, Unquote(entry.ETag), ToOffset(entry.LastModified));
            }
            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken))
            {
                yield break;
            }
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    public async Task<ArtifactObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        ArtifactPath.EnsureValid(bucket, key);
        try
        {
            var head = await CallAsync(() => client.GetObjectMetadataAsync(bucket, key, cancellationToken), bucket);
            return Describe(bucket, key, head.ContentLength, head.ETag, head.LastModified, head.Headers.ContentType, head.Metadata);
        }
        catch (ArtifactNotFoundException)
        {
            return null;
        }
    }

    public string? LocalPath(string bucket, string key)
    {
        ArtifactPath.EnsureValid(bucket, key);
        return null;
    }

    public async Task<ArtifactContent?> OpenReadAsync(string bucket, string key, ArtifactRange? range = null, CancellationToken cancellationToken = default)
    {
        ArtifactPath.EnsureValid(bucket, key);
        var request = new GetObjectRequest { BucketName = bucket, Key = key };
        if (range is { } wanted)
        {
            if (wanted.Offset < 0 || wanted.Length <= 0)
            {
                throw new ArtifactRangeNotSatisfiableException($"Bytes {wanted.Offset}-{wanted.Last} are not a range of {ArtifactPath.Format(bucket, key)}.");
            }
            request.ByteRange = new ByteRange(wanted.Offset, wanted.Last);
        }
        GetObjectResponse response;
        try
        {
            response = await CallAsync(() => client.GetObjectAsync(request, cancellationToken), bucket);
        }
        catch (ArtifactNotFoundException)
        {
            return null;
        }
        try
        {
            var size = TotalSize(response);
            var artifact = Describe(bucket, key, size, response.ETag, response.LastModified, response.Headers.ContentType, response.Metadata);
            var read = range ?? new ArtifactRange(0, size);
            // S3 shortens a range that runs past the end; the contract is to refuse it.
            if (response.ContentLength != read.Length)
            {
                read.EnsureWithin(artifact);
            }
            return new ArtifactContent(artifact, read, new LimitedReadStream(response.ResponseStream, read.Length, response));
        }
        catch
        {
            response.Dispose();
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
        ArtifactPath.EnsureValid(bucket, key);
        contentType = string.IsNullOrWhiteSpace(contentType) ? ArtifactObject.DefaultContentType : contentType;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        byte[]? first = partBuffers.Rent(options.PartSizeBytes);
        var firstLength = 0;
        try
        {
            firstLength = await FillAsync(content, first, options.PartSizeBytes, cancellationToken);
            if (firstLength == options.PartSizeBytes)
            {
                var parts = first;
                first = null;
                return await PutInPartsAsync(bucket, key, content, parts, hash, metadata, contentType, expectedMd5, cancellationToken);
            }
            hash.AppendData(first, 0, firstLength);
            var md5 = Convert.ToHexStringLower(hash.GetHashAndReset());
            EnsureExpected(bucket, key, md5, expectedMd5);
            var request = new PutObjectRequest
            {
                BucketName = bucket,
                Key = key,
                InputStream = new MemoryStream(first, 0, firstLength, writable: false),
                AutoCloseStream = false,
                ContentType = contentType,
                MD5Digest = Convert.ToBase64String(Convert.FromHexString(md5)),
            };
            AddMetadata(request.Metadata, metadata, md5);
            await CallAsync(() => client.PutObjectAsync(request, cancellationToken), bucket);
        }
        finally
        {
            if (first is not null)
            {
                partBuffers.Return(first);
            }
        }
        return await HeadAsync(bucket, key, cancellationToken)
            ?? throw new ArtifactStoreUnavailableException($"{ArtifactPath.Format(bucket, key)} was stored but cannot be read back.");
    }

    /// <summary>
    /// A multipart upload: parts go up while the next is read; the md5 is recorded with the upload
    /// when the client announced it, otherwise set afterwards by copying the object onto itself
    /// with its metadata replaced (the RADOS Gateway does that without copying the data). A failure
    /// or a checksum mismatch aborts the upload, so readers never see a partial object.
    /// </summary>
    private async Task<ArtifactObject> PutInPartsAsync(string bucket, string key, Stream content, byte[] firstPart, IncrementalHash hash,
        IReadOnlyDictionary<string, string>? metadata, string contentType, string? expectedMd5, CancellationToken cancellationToken)
    {
        var create = new InitiateMultipartUploadRequest { BucketName = bucket, Key = key, ContentType = contentType };
        AddMetadata(create.Metadata, metadata, expectedMd5?.ToLowerInvariant());
        InitiateMultipartUploadResponse upload;
        try
        {
            upload = await CallAsync(() => client.InitiateMultipartUploadAsync(create, cancellationToken), bucket);
        }
        catch
        {
            partBuffers.Return(firstPart);
            throw;
        }
        var uploads = new List<Task<PartETag>>();
        using var slots = new SemaphoreSlim(options.ConcurrentParts);
        try
        {
            var partNumber = 0;
            while (true)
            {
                // The first part, already read, goes up first; each part's buffer returns to the pool once it is sent.
                var buffer = partNumber == 0 ? firstPart : partBuffers.Rent(options.PartSizeBytes);
                var length = partNumber == 0 ? options.PartSizeBytes : await FillAsync(content, buffer, options.PartSizeBytes, cancellationToken);
                if (length == 0)
                {
                    partBuffers.Return(buffer);
                    break;
                }
                hash.AppendData(buffer, 0, length);
                partNumber++;
                await slots.WaitAsync(cancellationToken);
                uploads.Add(UploadPartAsync(bucket, key, upload.UploadId, partNumber, buffer, length, slots, cancellationToken));
                if (length < options.PartSizeBytes)
                {
                    break;
                }
                // A part that failed stops the reading at once rather than at the end.
                if (uploads.FirstOrDefault(task => task.IsFaulted) is { } failed)
                {
                    await failed;
                }
            }
            var parts = await Task.WhenAll(uploads);
            var md5 = Convert.ToHexStringLower(hash.GetHashAndReset());
            EnsureExpected(bucket, key, md5, expectedMd5);
            await CallAsync(() => client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = upload.UploadId,
                PartETags = parts.ToList(),
            }, cancellationToken), bucket);
            if (expectedMd5 is null)
            {
                await RecordMd5Async(bucket, key, metadata, contentType, md5, cancellationToken);
            }
        }
        catch
        {
            await Task.WhenAll(uploads.Select(task => task.ContinueWith(_ => { }, TaskScheduler.Default)));
            await AbortQuietlyAsync(bucket, key, upload.UploadId);
            throw;
        }
        return await HeadAsync(bucket, key, cancellationToken)
            ?? throw new ArtifactStoreUnavailableException($"{ArtifactPath.Format(bucket, key)} was stored but cannot be read back.");
    }

    private async Task<PartETag> UploadPartAsync(string bucket, string key, string uploadId, int partNumber, byte[] buffer, int length,
        SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        try
        {
            var response = await CallAsync(() => client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = uploadId,
                PartNumber = partNumber,
                PartSize = length,
                InputStream = new MemoryStream(buffer, 0, length, writable: false),
            }, cancellationToken), bucket);
            return new PartETag(partNumber, response.ETag);
        }
        finally
        {
            partBuffers.Return(buffer);
            slots.Release();
        }
    }

    private async Task RecordMd5Async(string bucket, string key, IReadOnlyDictionary<string, string>? metadata, string contentType, string md5, CancellationToken cancellationToken)
    {
        var copy = new CopyObjectRequest
        {
            SourceBucket = bucket,
            SourceKey = key,
            DestinationBucket = bucket,
            DestinationKey = key,
            MetadataDirective = S3MetadataDirective.REPLACE,
            ContentType = contentType,
        };
        AddMetadata(copy.Metadata, metadata, md5);
        try
        {
            await CallAsync(() => client.CopyObjectAsync(copy, cancellationToken), bucket);
        }
        catch
        {
            // Without its md5 the object could not be verified by IMS later: remove it rather than keep it half-described.
            await DeleteQuietlyAsync(bucket, key);
            throw;
        }
    }

    public async Task<ArtifactObject> AdoptFileAsync(
        string bucket,
        string key,
        string filePath,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default)
    {
        ArtifactPath.EnsureValid(bucket, key);
        ArtifactObject stored;
        await using (var file = new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            stored = await PutAsync(bucket, key, file, metadata, cancellationToken: cancellationToken);
        }
        File.Delete(filePath);
        return stored;
    }

    public async Task<bool> DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        if (await HeadAsync(bucket, key, cancellationToken) is null)
        {
            return false;
        }
        await CallAsync(() => client.DeleteObjectAsync(bucket, key, cancellationToken), bucket);
        return true;
    }

    public async Task<ArtifactObject?> MoveAsync(string bucket, string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        ArtifactPath.EnsureValid(bucket, destinationKey);
        if (await HeadAsync(bucket, sourceKey, cancellationToken) is not { } source)
        {
            return null;
        }
        if (await HeadAsync(bucket, destinationKey, cancellationToken) is not null)
        {
            throw new ArtifactConflictException($"s3://{bucket}/{destinationKey} already exists; a move never replaces another object.");
        }
        if (source.Size <= options.SingleCopyLimitBytes)
        {
            await CallAsync(() => client.CopyObjectAsync(new CopyObjectRequest
            {
                SourceBucket = bucket,
                SourceKey = sourceKey,
                DestinationBucket = bucket,
                DestinationKey = destinationKey,
                MetadataDirective = S3MetadataDirective.COPY,
            }, cancellationToken), bucket);
        }
        else
        {
            await CopyInPartsAsync(source, destinationKey, cancellationToken);
        }
        await CallAsync(() => client.DeleteObjectAsync(bucket, sourceKey, cancellationToken), bucket);
        return await HeadAsync(bucket, destinationKey, cancellationToken);
    }

    private async Task CopyInPartsAsync(ArtifactObject source, string destinationKey, CancellationToken cancellationToken)
    {
        var bucket = source.Bucket;
        var create = new InitiateMultipartUploadRequest { BucketName = bucket, Key = destinationKey, ContentType = source.ContentType };
        foreach (var (name, value) in source.Metadata)
        {
            create.Metadata[name] = value;
        }
        var upload = await CallAsync(() => client.InitiateMultipartUploadAsync(create, cancellationToken), bucket);
        try
        {
            var parts = new List<PartETag>();
            for (long offset = 0, partNumber = 1; offset < source.Size; offset += options.CopyPartSizeBytes, partNumber++)
            {
                var number = (int)partNumber;
                var first = offset;
                var copied = await CallAsync(() => client.CopyPartAsync(new CopyPartRequest
                {
                    SourceBucket = bucket,
                    SourceKey = source.Key,
                    DestinationBucket = bucket,
                    DestinationKey = destinationKey,
                    UploadId = upload.UploadId,
                    PartNumber = number,
                    FirstByte = first,
                    LastByte = Math.Min(first + options.CopyPartSizeBytes, source.Size) - 1,
                }, cancellationToken), bucket);
                parts.Add(new PartETag(number, copied.ETag));
            }
            await CallAsync(() => client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket,
                Key = destinationKey,
                UploadId = upload.UploadId,
                PartETags = parts,
            }, cancellationToken), bucket);
        }
        catch
        {
            await AbortQuietlyAsync(bucket, destinationKey, upload.UploadId);
            throw;
        }
    }

    private async Task AbortQuietlyAsync(string bucket, string key, string uploadId)
    {
        try
        {
            await client.AbortMultipartUploadAsync(bucket, key, uploadId, CancellationToken.None);
        }
        catch (Exception exception) when (exception is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            // The gateway's lifecycle rules or the next attempt clean up an upload that could not be aborted.
        }
    }

    private async Task DeleteQuietlyAsync(string bucket, string key)
    {
        try
        {
            await client.DeleteObjectAsync(bucket, key, CancellationToken.None);
        }
        catch (Exception exception) when (exception is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
        }
    }

    private static void EnsureExpected(string bucket, string key, string md5, string? expectedMd5)
    {
        if (expectedMd5 is not null && !string.Equals(expectedMd5, md5, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArtifactChecksumMismatchException(
                $"The content received for {ArtifactPath.Format(bucket, key)} has md5 {md5}, not the {expectedMd5} the client sent; nothing was stored.");
        }
    }

    private static void AddMetadata(MetadataCollection target, IReadOnlyDictionary<string, string>? metadata, string? md5)
    {
        foreach (var (name, value) in metadata ?? new Dictionary<string, string>())
        {
            target[name] = value;
        }
        if (md5 is not null)
        {
            target[ArtifactObject.Md5MetadataName] = md5;
        }
    }

    private static ArtifactObject Describe(string bucket, string key, long size, string eTag, DateTime? lastModified, string? contentType, MetadataCollection metadata)
    {
        var userMetadata = metadata.Keys.ToDictionary(
            name => (name.StartsWith(MetadataHeaderPrefix, StringComparison.OrdinalIgnoreCase) ? name[MetadataHeaderPrefix.Length..] : name).ToLowerInvariant(),
            name => metadata[name]);
        var tag = Unquote(eTag);
        return new ArtifactObject(bucket, key, size, tag, ArtifactObject.KnownMd5(tag, userMetadata), ToOffset(lastModified),
            string.IsNullOrEmpty(contentType) ? ArtifactObject.DefaultContentType : contentType, userMetadata);
    }

    /// <summary>The whole object's size: Content-Range's total for a ranged read, else the length.</summary>
    private static long TotalSize(GetObjectResponse response)
    {
        var contentRange = response.ContentRange;
        if (!string.IsNullOrEmpty(contentRange) && contentRange.LastIndexOf('/') is var slash and > 0
            && long.TryParse(contentRange.AsSpan(slash + 1), out var total))
        {
            return total;
        }
        return response.ContentLength;
    }

    private static string Unquote(string? eTag) => (eTag ?? "").Trim('"');

    private static DateTimeOffset ToOffset(DateTime? time)
        => time is { } value ? new DateTimeOffset(value.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(value, DateTimeKind.Utc) : value.ToUniversalTime()) : DateTimeOffset.UnixEpoch;

    private static async Task<int> FillAsync(Stream content, Memory<byte> buffer, int wanted, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < wanted)
        {
            var read = await content.ReadAsync(buffer[filled..wanted], cancellationToken);
            if (read == 0)
            {
                break;
            }
            filled += read;
        }
        return filled;
    }

    private static Task<int> FillAsync(Stream content, byte[] buffer, int wanted, CancellationToken cancellationToken)
        => FillAsync(content, buffer.AsMemory(), wanted, cancellationToken);

    /// <summary>Runs one S3 call and turns its failures into the repository's own exceptions.</summary>
    private async Task<T> CallAsync<T>(Func<Task<T>> call, string? bucket)
    {
        try
        {
            return await call();
        }
        catch (AmazonS3Exception exception)
        {
            throw Translate(exception, bucket);
        }
        catch (AmazonClientException exception)
        {
            throw new ArtifactStoreUnavailableException($"The S3 endpoint {options.Endpoint} could not be used: {exception.Message}", exception);
        }
        catch (HttpRequestException exception)
        {
            throw new ArtifactStoreUnavailableException($"The S3 endpoint {options.Endpoint} cannot be reached: {exception.Message}", exception);
        }
    }

    private ArtifactException Translate(AmazonS3Exception exception, string? bucket) => (exception.StatusCode, exception.ErrorCode) switch
    {
        (_, "NoSuchBucket") => new ArtifactNotFoundException($"The bucket '{bucket}' does not exist."),
        (HttpStatusCode.NotFound, _) => new ArtifactNotFoundException($"The object does not exist in bucket '{bucket}'."),
        (_, "BucketAlreadyOwnedByYou" or "BucketAlreadyExists") => new ArtifactConflictException($"The bucket '{bucket}' exists already."),
        (HttpStatusCode.RequestedRangeNotSatisfiable, _) => new ArtifactRangeNotSatisfiableException($"The range is not within the object: {exception.Message}"),
        (_, "BadDigest" or "InvalidDigest") => new ArtifactChecksumMismatchException($"The S3 endpoint received content that does not match its md5: {exception.Message}"),
        (HttpStatusCode.Forbidden, var code) => new ArtifactStoreUnavailableException(
            $"The S3 endpoint {options.Endpoint} refused the server's credentials ({code}); check the access key and secret key the server was given.", exception),
        (var status, var code) => new ArtifactStoreUnavailableException(
            $"The S3 endpoint {options.Endpoint} failed: {(int)status} {code} {exception.Message}", exception),
    };
}
