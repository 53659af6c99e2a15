namespace Cray.Artifacts.Tests;

public sealed class FileSystemArtifactStoreContractTests : ArtifactStoreContract, IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("artifacts-test-").FullName;

    public FileSystemArtifactStoreContractTests() => Store = new FileSystemArtifactStore(root);

    protected override IArtifactStore Store { get; }

    // The file store has no parts: any size is one file, so a few MiB exercise the same paths.
    protected override int ContentInPartsBytes => 3 << 20;

    public void Dispose() => Directory.Delete(root, recursive: true);
}

/// <summary>What the file store adds: keys are paths, uploads are temporary files, metadata is a file beside the content.</summary>
/// <summary>
/// The allocation check counts the whole process's allocations, so no other test may run beside it
/// (the S3 tests' 8 MiB part buffers made it fail now and then).
/// </summary>
[CollectionDefinition(nameof(AllocationMeasurement), DisableParallelization = true)]
public sealed class AllocationMeasurement;

[Collection(nameof(AllocationMeasurement))]
public sealed class FileSystemArtifactStoreTests : IDisposable
{
    private const string Bucket = "boot-images";

    private readonly string root = Directory.CreateTempSubdirectory("artifacts-test-").FullName;
    private readonly FileSystemArtifactStore store;

    public FileSystemArtifactStoreTests()
    {
        store = new FileSystemArtifactStore(root);
        store.CreateBucketAsync(Bucket).GetAwaiter().GetResult();
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static MemoryStream Content(string text) => new(System.Text.Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task AFailedPutLeavesNoUploadFileAndNothingOutside()
    {
        await Assert.ThrowsAsync<InvalidArtifactNameException>(() => store.PutAsync(Bucket, "../outside", Content("x")));
        await Assert.ThrowsAsync<ArtifactChecksumMismatchException>(() => store.PutAsync(Bucket, "k", Content("real"), expectedMd5: new string('0', 32)));
        Assert.False(File.Exists(Path.Combine(root, "outside")));
        Assert.False(File.Exists(Path.Combine(root, "buckets", "outside")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(root, "uploads")));
    }

    [Fact]
    public async Task AKeyUnderAnExistingObjectIsAConflict()
    {
        await store.PutAsync(Bucket, "a", Content("file"));
        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.PutAsync(Bucket, "a/b", Content("x")));
        await store.PutAsync(Bucket, "c/d", Content("file"));
        await Assert.ThrowsAsync<ArtifactConflictException>(() => store.PutAsync(Bucket, "c", Content("x")));
    }

    [Fact]
    public async Task MovesAndDeletesRemoveEmptyDirectories()
    {
        await store.PutAsync(Bucket, "img/rootfs", Content("data"));
        await store.MoveAsync(Bucket, "img/rootfs", "deleted/img/rootfs");
        Assert.False(Directory.Exists(Path.Combine(root, "buckets", Bucket, "img")));
        Assert.True(await store.DeleteAsync(Bucket, "deleted/img/rootfs"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(root, "buckets", Bucket)));
    }

    [Fact]
    public async Task AnAdoptedFileIsRenamedInPlaceAndReadWhereItLies()
    {
        var file = Path.Combine(root, "result.squashfs");
        await File.WriteAllTextAsync(file, "packed root");
        var inode = new FileInfo(file).LastWriteTimeUtc;
        await store.AdoptFileAsync(Bucket, "img/rootfs", file);
        var local = store.LocalPath(Bucket, "img/rootfs");
        Assert.Equal(Path.Combine(root, "buckets", Bucket, "img", "rootfs"), local);
        Assert.Equal(inode, new FileInfo(local!).LastWriteTimeUtc);
        Assert.Null(store.LocalPath(Bucket, "img/none"));
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
        await store.PutAsync(Bucket, "k", Content("abc"));
        File.Delete(Path.Combine(root, "metadata", Bucket, "k.json"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("abc"u8)), (await store.HeadAsync(Bucket, "k"))!.Md5);
    }

    [Fact]
    public async Task LargeContentStreamsWithoutBufferingEverything()
    {
        // 64 MiB through a non-seekable stream: the store must hash and write it in chunks.
        var chunk = new byte[1 << 20];
        Random.Shared.NextBytes(chunk);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var stored = await store.PutAsync(Bucket, "big", new RepeatingStream(chunk, 64));
        Assert.Equal(64L << 20, stored.Size);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 16 << 20, "the put allocated as much as the content");
    }
}
