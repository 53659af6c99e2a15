using System.Security.Cryptography;
using System.Text;

namespace Cray.Artifacts.Tests;

public sealed class FileSystemArtifactStoreTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("artifacts-test-").FullName;
    private readonly FileSystemArtifactStore store;

    public FileSystemArtifactStoreTests()
    {
        store = new FileSystemArtifactStore(root);
        store.CreateBucket("boot-images");
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static MemoryStream Content(string text) => new(Encoding.UTF8.GetBytes(text));

    private static string Md5(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public async Task PutRecordsMd5EtagSizeAndMetadataAndReadsBack()
    {
        var stored = await store.PutAsync("boot-images", "img/rootfs", Content("root file system"),
            new Dictionary<string, string> { ["x-shasta-ims-image-id"] = "img" });

        Assert.Equal(Md5("root file system"), stored.Md5);
        Assert.Equal(stored.Md5, stored.ETag);
        var head = store.Head("boot-images", "img/rootfs")!;
        Assert.Equal(16, head.Size);
        Assert.Equal("img", head.Metadata["x-shasta-ims-image-id"]);
        Assert.Equal(stored.Md5, head.Metadata[FileSystemArtifactStore.Md5MetadataName]);
        using var reader = new StreamReader(store.OpenRead("boot-images", "img/rootfs")!);
        Assert.Equal("root file system", await reader.ReadToEndAsync());
        Assert.Equal("s3://boot-images/img/rootfs", head.S3Path);
    }

    [Fact]
    public async Task ListFiltersByPrefixInKeyOrder()
    {
        foreach (var key in new[] { "b/2", "a/1", "b/1", "bb" })
        {
            await store.PutAsync("boot-images", key, Content(key));
        }
        Assert.Equal(["b/1", "b/2", "bb"], store.ListObjects("boot-images", "b").Select(o => o.Key));
        Assert.Equal(["b/1", "b/2"], store.ListObjects("boot-images", "b/").Select(o => o.Key));
        Assert.Equal(["a/1", "b/1", "b/2", "bb"], store.ListObjects("boot-images").Select(o => o.Key));
        Assert.Empty(store.ListObjects("boot-images", "zz/"));
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("a/../../outside")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("a\\..\\b")]
    [InlineData("")]
    public async Task KeysThatLeaveTheBucketAreRefusedAndNothingIsWritten(string key)
    {
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.PutAsync("boot-images", key, Content("x")));
        Assert.Throws<InvalidArtifactNameException>(() => store.Head("boot-images", key));
        Assert.Empty(store.ListObjects("boot-images"));
        Assert.False(File.Exists(Path.Combine(root, "outside")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(root, "uploads")));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../x")]
    [InlineData("UPPER")]
    [InlineData("a")]
    public async Task BadBucketNamesAreRefused(string bucket)
        => await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.PutAsync(bucket, "k", Content("x")));

    [Fact]
    public async Task UnknownBucketIsNotFound()
    {
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => store.PutAsync("nope-bucket", "k", Content("x")));
        Assert.Throws<ArtifactNotFoundException>(() => store.ListObjects("nope-bucket"));
    }

    [Fact]
    public async Task ChecksumMismatchStoresNothing()
    {
        await Assert.ThrowsAsync<ArtifactChecksumMismatchException>(
            () => store.PutAsync("boot-images", "k", Content("real"), expectedMd5: Md5("other")));
        Assert.Null(store.Head("boot-images", "k"));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(root, "uploads")));
    }

    [Fact]
    public async Task OverwriteReplacesContentAndChecksumTogether()
    {
        await store.PutAsync("boot-images", "k", Content("first"));
        await store.PutAsync("boot-images", "k", Content("second version"));
        var head = store.Head("boot-images", "k")!;
        Assert.Equal(Md5("second version"), head.Md5);
        Assert.Equal(14, head.Size);
    }

    [Fact]
    public async Task KeyUnderAnExistingObjectIsAConflict()
    {
        await store.PutAsync("boot-images", "a", Content("file"));
        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.PutAsync("boot-images", "a/b", Content("x")));
        await store.PutAsync("boot-images", "c/d", Content("file"));
        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.PutAsync("boot-images", "c", Content("x")));
    }

    [Fact]
    public async Task MoveNeverReplacesAnotherObject()
    {
        await store.PutAsync("boot-images", "a/rootfs", Content("first"));
        await store.PutAsync("boot-images", "b/rootfs", Content("second"));
        Assert.Throws<ArtifactConflictException>(() => store.Move("boot-images", "a/rootfs", "b/rootfs"));
        Assert.Equal(Md5("first"), store.Head("boot-images", "a/rootfs")!.Md5);
        Assert.Equal(Md5("second"), store.Head("boot-images", "b/rootfs")!.Md5);
    }

    [Fact]
    public async Task MoveKeepsChecksumAndMetadataAndDeleteRemovesEmptyDirectories()
    {
        await store.PutAsync("boot-images", "img/rootfs", Content("data"), new Dictionary<string, string> { ["k"] = "v" });
        var moved = store.Move("boot-images", "img/rootfs", "deleted/img/rootfs")!;
        Assert.Equal(Md5("data"), moved.Md5);
        Assert.Equal("v", moved.Metadata["k"]);
        Assert.Null(store.Head("boot-images", "img/rootfs"));
        Assert.False(Directory.Exists(Path.Combine(root, "buckets", "boot-images", "img")));
        Assert.Null(store.Move("boot-images", "img/rootfs", "x"));

        Assert.True(store.Delete("boot-images", "deleted/img/rootfs"));
        Assert.False(store.Delete("boot-images", "deleted/img/rootfs"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(root, "buckets", "boot-images")));
    }

    [Fact]
    public async Task AdoptedFileMovesInWithItsChecksum()
    {
        var file = Path.Combine(root, "result.squashfs");
        await File.WriteAllTextAsync(file, "packed root");
        var stored = await store.AdoptFileAsync("boot-images", "img/rootfs", file, new Dictionary<string, string> { ["x-shasta-ims-job-id"] = "job" });
        Assert.False(File.Exists(file));
        Assert.Equal(Md5("packed root"), stored.Md5);
        var head = store.Head("boot-images", "img/rootfs")!;
        Assert.Equal("job", head.Metadata["x-shasta-ims-job-id"]);
        Assert.Equal(Md5("packed root"), head.Metadata[FileSystemArtifactStore.Md5MetadataName]);
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.AdoptFileAsync("boot-images", "../x", file));
    }

    [Fact]
    public async Task LeftoverUploadsFromACrashAreRemovedAtStart()
    {
        var leftover = Path.Combine(root, "uploads", "half-written");
        await File.WriteAllTextAsync(leftover, "partial");
        _ = new FileSystemArtifactStore(root);
        Assert.False(File.Exists(leftover));
    }

    [Fact]
    public async Task ContentPlacedWithoutMetadataIsStillDescribed()
    {
        await store.PutAsync("boot-images", "k", Content("abc"));
        File.Delete(Path.Combine(root, "metadata", "boot-images", "k.json"));
        Assert.Equal(Md5("abc"), store.Head("boot-images", "k")!.Md5);
    }

    [Fact]
    public async Task LargeContentStreamsWithoutBufferingEverything()
    {
        // 64 MiB through a non-seekable stream: the store must hash and write it in chunks.
        var chunk = new byte[1 << 20];
        Random.Shared.NextBytes(chunk);
        var expected = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        for (var i = 0; i < 64; i++)
        {
            expected.AppendData(chunk);
        }
        var stored = await store.PutAsync("boot-images", "big", new RepeatingStream(chunk, 64));
        Assert.Equal(64L << 20, stored.Size);
        Assert.Equal(Convert.ToHexStringLower(expected.GetHashAndReset()), stored.Md5);
    }

    private sealed class RepeatingStream(byte[] chunk, int count) : Stream
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

        public override int Read(byte[] buffer, int offset, int length)
        {
            var total = (long)chunk.Length * count;
            var toCopy = (int)Math.Min(length, total - position);
            for (var i = 0; i < toCopy; i++)
            {
                buffer[offset + i] = chunk[(position + i) % chunk.Length];
            }
            position += toCopy;
            return toCopy;
        }
    }
}
