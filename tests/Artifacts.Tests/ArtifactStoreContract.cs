using System.Security.Cryptography;
using System.Text;

namespace Cray.Artifacts.Tests;

/// <summary>
/// What every artifact store promises (checksums apart from ETags, atomic puts, ranged reads,
/// moves that never replace, name checks before any I/O), checked against each implementation by a
/// subclass. Each test has a bucket of its own.
/// </summary>
public abstract class ArtifactStoreContract : IAsyncLifetime
{
    protected abstract IArtifactStore Store { get; }

    /// <summary>Content this size goes up in several parts in the store under test.</summary>
    protected abstract int ContentInPartsBytes { get; }

    protected string Bucket { get; } = "contract-" + Guid.NewGuid().ToString("n")[..12];

    private IArtifactStore store => Store;

    public virtual async Task InitializeAsync() => await store.CreateBucketAsync(Bucket);

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static MemoryStream Content(string text) => new(Encoding.UTF8.GetBytes(text));

    protected static string Md5(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));

    private static async Task<string> ReadAllAsync(ArtifactContent? content)
    {
        Assert.NotNull(content);
        await using (content)
        {
            using var reader = new StreamReader(content.Stream);
            return await reader.ReadToEndAsync();
        }
    }

    private static async Task<string> Md5Of(ArtifactContent? content)
    {
        Assert.NotNull(content);
        await using (content)
        {
            return Convert.ToHexStringLower(await MD5.HashDataAsync(content.Stream));
        }
    }

    private async Task<List<string>> KeysAsync(string? prefix = null)
        => await store.ListObjectsAsync(Bucket, prefix).Select(listed => listed.Key).ToListAsync();

    [Fact]
    public async Task PutRecordsMd5SizeMetadataAndContentTypeAndReadsBack()
    {
        var stored = await store.PutAsync(Bucket, "img/rootfs", Content("root file system"),
            new Dictionary<string, string> { ["x-shasta-ims-image-id"] = "img" }, "application/x-squashfs");

        Assert.Equal(Md5("root file system"), stored.Md5);
        var head = (await store.HeadAsync(Bucket, "img/rootfs"))!;
        Assert.Equal(16, head.Size);
        Assert.Equal(stored.ETag, head.ETag);
        Assert.Equal(Md5("root file system"), head.Md5);
        Assert.Equal("img", head.Metadata["x-shasta-ims-image-id"]);
        Assert.Equal(stored.Md5, head.Metadata[ArtifactObject.Md5MetadataName]);
        Assert.Equal("application/x-squashfs", head.ContentType);
        Assert.Equal($"s3://{Bucket}/img/rootfs", head.S3Path);
        Assert.InRange(head.LastModified, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Equal("root file system", await ReadAllAsync(await store.OpenReadAsync(Bucket, "img/rootfs")));
    }

    [Fact]
    public async Task ContentInPartsKeepsItsMd5ApartFromTheETag()
    {
        var chunk = RandomBytes(1 << 20);
        var chunks = ContentInPartsBytes >> 20;
        var stored = await store.PutAsync(Bucket, "big", new RepeatingStream(chunk, chunks));

        var expected = ExpectedMd5(chunk, chunks);
        Assert.Equal((long)chunks << 20, stored.Size);
        Assert.Equal(expected, stored.Md5);
        var head = (await store.HeadAsync(Bucket, "big"))!;
        Assert.Equal(expected, head.Md5);
        Assert.Equal(expected, head.Metadata[ArtifactObject.Md5MetadataName]);
        Assert.Equal(expected, await Md5Of(await store.OpenReadAsync(Bucket, "big")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AChecksumMismatchStoresNothingAndKeepsTheOldObject(bool inParts)
    {
        await store.PutAsync(Bucket, "k", Content("old"));
        Stream content = inParts ? new RepeatingStream(RandomBytes(1 << 20), ContentInPartsBytes >> 20) : Content("real");
        await Assert.ThrowsAsync<ArtifactChecksumMismatchException>(() => store.PutAsync(Bucket, "k", content, expectedMd5: Md5("other")));
        await Assert.ThrowsAsync<ArtifactChecksumMismatchException>(() => store.PutAsync(Bucket, "new", Content("real"), expectedMd5: Md5("other")));

        Assert.Equal("old", await ReadAllAsync(await store.OpenReadAsync(Bucket, "k")));
        Assert.Null(await store.HeadAsync(Bucket, "new"));
        Assert.Equal(["k"], await KeysAsync());
    }

    [Fact]
    public async Task AMatchingExpectedMd5IsAccepted()
    {
        var stored = await store.PutAsync(Bucket, "k", Content("real"), expectedMd5: Md5("real").ToUpperInvariant());
        Assert.Equal(Md5("real"), stored.Md5);
    }

    [Fact]
    public async Task ListFiltersByPrefixInKeyOrder()
    {
        foreach (var key in new[] { "b/2", "a/1", "b/1", "bb" })
        {
            await store.PutAsync(Bucket, key, Content(key));
        }
        Assert.Equal(["b/1", "b/2", "bb"], await KeysAsync("b"));
        Assert.Equal(["b/1", "b/2"], await KeysAsync("b/"));
        Assert.Equal(["a/1", "b/1", "b/2", "bb"], await KeysAsync());
        Assert.Empty(await KeysAsync("zz/"));
        var listed = await store.ListObjectsAsync(Bucket, "a/").SingleAsync();
        Assert.Equal(3, listed.Size);
        Assert.Equal((await store.HeadAsync(Bucket, "a/1"))!.ETag, listed.ETag);
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("a/../../outside")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("a\\..\\b")]
    [InlineData("")]
    public async Task KeysThatLeaveTheBucketAreRefusedBeforeAnythingIsWritten(string key)
    {
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.PutAsync(Bucket, key, Content("x")));
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.HeadAsync(Bucket, key));
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.OpenReadAsync(Bucket, key));
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.DeleteAsync(Bucket, key));
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.MoveAsync(Bucket, "x", key));
        Assert.Empty(await KeysAsync());
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../x")]
    [InlineData("UPPER")]
    [InlineData("a")]
    public async Task BadBucketNamesAreRefused(string bucket)
    {
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.PutAsync(bucket, "k", Content("x")));
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.CreateBucketAsync(bucket));
        Assert.False(await store.BucketExistsAsync(bucket));
    }

    [Fact]
    public async Task AnUnknownBucketIsNotFoundAndItsObjectsAreNone()
    {
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => store.PutAsync("nope-bucket", "k", Content("x")));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(async () => await store.ListObjectsAsync("nope-bucket").ToListAsync());
        Assert.Null(await store.HeadAsync("nope-bucket", "k"));
        Assert.Null(await store.OpenReadAsync("nope-bucket", "k"));
        Assert.Null(await store.HeadAsync(Bucket, "missing"));
        Assert.Null(await store.OpenReadAsync(Bucket, "missing"));
    }

    [Fact]
    public async Task BucketsAreCreatedOnceAndListed()
    {
        await store.CreateBucketAsync(Bucket);
        Assert.True(await store.BucketExistsAsync(Bucket));
        Assert.False(await store.BucketExistsAsync("never-made-bucket"));
        Assert.Contains(Bucket, await store.ListBucketsAsync());
    }

    [Fact]
    public async Task OverwriteReplacesContentAndChecksumTogether()
    {
        await store.PutAsync(Bucket, "k", Content("first"));
        await store.PutAsync(Bucket, "k", Content("second version"));
        var head = (await store.HeadAsync(Bucket, "k"))!;
        Assert.Equal(Md5("second version"), head.Md5);
        Assert.Equal(14, head.Size);
    }

    [Fact]
    public async Task AnRecordedMd5SumCannotBeFalse()
    {
        var stored = await store.PutAsync(Bucket, "k", Content("real"), new Dictionary<string, string> { [ArtifactObject.Md5MetadataName] = Md5("lie") });
        Assert.Equal(Md5("real"), stored.Metadata[ArtifactObject.Md5MetadataName]);
    }

    [Fact]
    public async Task MoveNeverReplacesAnotherObject()
    {
        await store.PutAsync(Bucket, "a/rootfs", Content("first"));
        await store.PutAsync(Bucket, "b/rootfs", Content("second"));
        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.MoveAsync(Bucket, "a/rootfs", "b/rootfs"));
        Assert.Equal(Md5("first"), (await store.HeadAsync(Bucket, "a/rootfs"))!.Md5);
        Assert.Equal(Md5("second"), (await store.HeadAsync(Bucket, "b/rootfs"))!.Md5);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MoveKeepsContentChecksumAndMetadata(bool large)
    {
        var chunk = RandomBytes(1 << 20);
        var chunks = large ? ContentInPartsBytes >> 20 : 1;
        await store.PutAsync(Bucket, "img/rootfs", new RepeatingStream(chunk, chunks), new Dictionary<string, string> { ["k"] = "v" }, "application/x-squashfs");

        var moved = (await store.MoveAsync(Bucket, "img/rootfs", "deleted/img/rootfs"))!;
        Assert.Equal(ExpectedMd5(chunk, chunks), moved.Md5);
        Assert.Equal("v", moved.Metadata["k"]);
        Assert.Equal("application/x-squashfs", moved.ContentType);
        Assert.Equal((long)chunks << 20, moved.Size);
        Assert.Equal(ExpectedMd5(chunk, chunks), await Md5Of(await store.OpenReadAsync(Bucket, "deleted/img/rootfs")));
        Assert.Null(await store.HeadAsync(Bucket, "img/rootfs"));
        Assert.Null(await store.MoveAsync(Bucket, "img/rootfs", "x"));
        Assert.Equal(["deleted/img/rootfs"], await KeysAsync());
    }

    [Fact]
    public async Task DeleteSaysWhetherThereWasAnObject()
    {
        await store.PutAsync(Bucket, "k", Content("x"));
        Assert.True(await store.DeleteAsync(Bucket, "k"));
        Assert.False(await store.DeleteAsync(Bucket, "k"));
        Assert.Empty(await KeysAsync());
    }

    [Fact]
    public async Task AnAdoptedFileBecomesTheObjectAndIsGone()
    {
        var directory = Directory.CreateTempSubdirectory("adopt-");
        try
        {
            var file = Path.Combine(directory.FullName, "result.squashfs");
            await File.WriteAllTextAsync(file, "packed root");
            var stored = await store.AdoptFileAsync(Bucket, "img/rootfs", file, new Dictionary<string, string> { ["x-shasta-ims-job-id"] = "job" });
            Assert.False(File.Exists(file));
            Assert.Equal(Md5("packed root"), stored.Md5);
            var head = (await store.HeadAsync(Bucket, "img/rootfs"))!;
            Assert.Equal("job", head.Metadata["x-shasta-ims-job-id"]);
            Assert.Equal(Md5("packed root"), head.Metadata[ArtifactObject.Md5MetadataName]);

            await File.WriteAllTextAsync(file, "kept");
            await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.AdoptFileAsync(Bucket, "../x", file));
            Assert.True(File.Exists(file));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task RangedReadsReturnExactlyTheBytesAsked()
    {
        await store.PutAsync(Bucket, "k", Content("0123456789"));

        await using (var whole = (await store.OpenReadAsync(Bucket, "k"))!)
        {
            Assert.False(whole.IsPartial);
            Assert.Equal(10, whole.Range.Length);
        }
        var middle = await store.OpenReadAsync(Bucket, "k", new ArtifactRange(3, 4));
        Assert.True(middle!.IsPartial);
        Assert.Equal(10, middle.Object.Size);
        Assert.Equal("3456", await ReadAllAsync(middle));
        Assert.Equal("9", await ReadAllAsync(await store.OpenReadAsync(Bucket, "k", new ArtifactRange(9, 1))));
        await Assert.ThrowsAsync<ArtifactRangeNotSatisfiableException>(() => store.OpenReadAsync(Bucket, "k", new ArtifactRange(8, 5)));
        await Assert.ThrowsAsync<ArtifactRangeNotSatisfiableException>(() => store.OpenReadAsync(Bucket, "k", new ArtifactRange(10, 1)));
    }

    protected static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    protected static string ExpectedMd5(byte[] chunk, int count)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        for (var i = 0; i < count; i++)
        {
            hash.AppendData(chunk);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}

/// <summary>A chunk repeated <c>repetitions</c> times through a stream that cannot seek or tell its length, as a request body.</summary>
public sealed class RepeatingStream(byte[] chunk, int repetitions) : Stream
{
    private long position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var total = (long)chunk.Length * repetitions;
        var toCopy = (int)Math.Min(count, total - position);
        for (var written = 0; written < toCopy;)
        {
            var at = (int)((position + written) % chunk.Length);
            var run = Math.Min(toCopy - written, chunk.Length - at);
            Array.Copy(chunk, at, buffer, offset + written, run);
            written += run;
        }
        position += toCopy;
        return toCopy;
    }
}
