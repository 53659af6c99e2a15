using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Cray.Tests.Support;

namespace Cray.Artifacts.Tests;

/// <summary>One RADOS Gateway for every S3 test of this assembly; each test takes buckets of its own.</summary>
[CollectionDefinition(Name)]
public sealed class SharedRadosGateway : ICollectionFixture<RadosGatewayTestServer>
{
    public const string Name = "RADOS Gateway";
}

[Collection(SharedRadosGateway.Name)]
public sealed class S3ArtifactStoreContractTests(RadosGatewayTestServer gateway) : ArtifactStoreContract, IDisposable
{
    // Small parts (S3's least is 5 MiB) and a low single-copy limit, so that 12 MiB is an upload in parts and a copy in parts.
    private readonly S3ArtifactStore store = new(S3ArtifactStoreTests.Options(gateway) with
    {
        PartSizeBytes = 5 << 20,
        SingleCopyLimitBytes = 6 << 20,
        CopyPartSizeBytes = 5 << 20,
    });

    protected override IArtifactStore Store => store;

    protected override int ContentInPartsBytes => 12 << 20;

    public void Dispose() => store.Dispose();
}

/// <summary>What only an S3 store shows: multipart ETags, objects other tools uploaded, an unreachable or unwilling endpoint.</summary>
[Collection(SharedRadosGateway.Name)]
public sealed class S3ArtifactStoreTests(RadosGatewayTestServer gateway) : IAsyncLifetime, IDisposable
{
    private readonly string bucket = "s3-" + Guid.NewGuid().ToString("n")[..12];
    private readonly S3ArtifactStore store = new(Options(gateway) with { PartSizeBytes = 5 << 20 });

    public static S3ArtifactStoreOptions Options(RadosGatewayTestServer gateway) => new()
    {
        Endpoint = gateway.Endpoint,
        Credentials = new BasicAWSCredentials(gateway.AccessKey, gateway.SecretKey),
    };

    public Task InitializeAsync() => store.CreateBucketAsync(bucket);

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => store.Dispose();

    private AmazonS3Client RawClient()
        => new(new BasicAWSCredentials(gateway.AccessKey, gateway.SecretKey), S3ArtifactStore.ClientConfig(gateway.Endpoint, "us-east-1"));

    [Fact]
    public async Task AnUploadInPartsHasAMultipartETagAndItsTrueMd5Recorded()
    {
        var chunk = new byte[1 << 20];
        Random.Shared.NextBytes(chunk);
        var stored = await store.PutAsync(bucket, "big", new RepeatingStream(chunk, 11));

        Assert.EndsWith("-3", stored.ETag, StringComparison.Ordinal);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
        for (var i = 0; i < 11; i++)
        {
            hash.AppendData(chunk);
        }
        Assert.Equal(Convert.ToHexStringLower(hash.GetHashAndReset()), stored.Md5);
        using var client = RawClient();
        var uploads = await client.ListMultipartUploadsAsync(bucket);
        Assert.Empty(uploads.MultipartUploads ?? []);
    }

    [Fact]
    public async Task AFailedUploadInPartsIsAbortedAndLeavesNoParts()
    {
        var failing = new FailingStream(new RepeatingStream(new byte[1 << 20], 20), failAfterBytes: 11 << 20);
        await Assert.ThrowsAsync<IOException>(() => store.PutAsync(bucket, "broken", failing));

        Assert.Null(await store.HeadAsync(bucket, "broken"));
        using var client = RawClient();
        Assert.Empty((await client.ListMultipartUploadsAsync(bucket)).MultipartUploads ?? []);
    }

    [Fact]
    public async Task AnObjectAnotherToolUploadedInPartsHasNoKnownMd5()
    {
        using var client = RawClient();
        var upload = await client.InitiateMultipartUploadAsync(bucket, "foreign");
        var part = await client.UploadPartAsync(new UploadPartRequest
        {
            BucketName = bucket,
            Key = "foreign",
            UploadId = upload.UploadId,
            PartNumber = 1,
            InputStream = new MemoryStream("content"u8.ToArray()),
        });
        await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = bucket,
            Key = "foreign",
            UploadId = upload.UploadId,
            PartETags = [new PartETag(1, part.ETag)],
        });

        var head = (await store.HeadAsync(bucket, "foreign"))!;
        Assert.EndsWith("-1", head.ETag, StringComparison.Ordinal);
        Assert.Null(head.Md5);
    }

    [Fact]
    public async Task AnUnreachableEndpointIsUnavailableNotAClientError()
    {
        using var nowhere = new S3ArtifactStore(new S3ArtifactStoreOptions
        {
            Endpoint = new Uri($"http://127.0.0.1:{FreeTcpPort.Find()}"),
            Credentials = new BasicAWSCredentials("a", "b"),
        });
        var failure = await Assert.ThrowsAsync<ArtifactStoreUnavailableException>(() => nowhere.ListBucketsAsync());
        Assert.Contains("127.0.0.1", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongCredentialsAreNamedAsSuch()
    {
        using var stranger = new S3ArtifactStore(Options(gateway) with { Credentials = new BasicAWSCredentials(gateway.AccessKey, "not-the-secret") });
        var failure = await Assert.ThrowsAsync<ArtifactStoreUnavailableException>(() => stranger.PutAsync(bucket, "k", new MemoryStream([1])));
        Assert.Contains("refused the server's credentials", failure.Message, StringComparison.Ordinal);
        Assert.Null(await store.HeadAsync(bucket, "k"));
    }

    private sealed class FailingStream(Stream inner, long failAfterBytes) : Stream
    {
        private long read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (read >= failAfterBytes)
            {
                throw new IOException("The client went away.");
            }
            var got = inner.Read(buffer, offset, (int)Math.Min(count, failAfterBytes - read));
            read += got;
            return got;
        }
    }
}
