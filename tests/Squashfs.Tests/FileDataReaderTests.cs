using System.Security.Cryptography;

namespace Cray.Squashfs.Tests;

/// <summary>Every regular file of an image reads back through <see cref="FileDataReader"/> with the bytes it was packed from, and files compare as their bytes do.</summary>
public sealed class FileDataReaderTests : IDisposable
{
    private readonly string workspace = Directory.CreateTempSubdirectory("squashfs-file-data-").FullName;

    public void Dispose() => Directory.Delete(workspace, recursive: true);

    [Theory]
    [InlineData("-comp zstd")]
    [InlineData("-comp gzip")]
    [InlineData("-comp zstd -no-fragments")]
    [InlineData("-comp zstd -always-use-fragments")]
    public async Task EveryFileReadsBackAsPacked(string packOptions)
    {
        var tree = Path.Combine(workspace, "tree");
        await ImageCorpus.BuildAsync(tree);
        var packed = Path.Combine(workspace, "packed.squashfs");
        await ImageCorpus.RunAsync("mksquashfs", [tree, packed, "-noappend", "-no-progress", "-quiet", .. packOptions.Split(' ')]);
        using var image = SourceImage.Open(packed);
        var reader = new FileDataReader(image);
        var files = 0;
        foreach (var (path, content) in Files(image.Root, ""))
        {
            using var stream = reader.Open(content);
            Assert.Equal(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(tree, path)))), Convert.ToHexString(SHA256.HashData(stream)));
            files++;
        }
        Assert.Equal(Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories).Count(file => LinuxFiles.Status(file).Type == FileStatus.Regular), files);
    }

    [Fact]
    public async Task FilesAreTheSameExactlyWhenTheirBytesAre()
    {
        var tree = Path.Combine(workspace, "tree");
        await ImageCorpus.BuildAsync(tree);
        var zstd = Path.Combine(workspace, "zstd.squashfs");
        await ImageCorpus.PackAsync(tree, zstd);
        // The same tree in another compressor and block size: nothing is stored alike, everything is read.
        var gzip = Path.Combine(workspace, "gzip.squashfs");
        await ImageCorpus.RunAsync("mksquashfs", tree, gzip, "-noappend", "-no-progress", "-quiet", "-comp", "gzip", "-b", "65536", "-no-fragments");
        // One byte changed in the last block of a file, and one in a file's tail.
        await ChangeByteAsync(Path.Combine(tree, "three-and-a-half"), 3 * ImageCorpus.BlockSize + 10);
        await ChangeByteAsync(Path.Combine(tree, "small.txt"), 99);
        var changed = Path.Combine(workspace, "changed.squashfs");
        await ImageCorpus.PackAsync(tree, changed);

        using var zstdImage = SourceImage.Open(zstd);
        using var gzipImage = SourceImage.Open(gzip);
        using var changedImage = SourceImage.Open(changed);
        var zstdReader = new FileDataReader(zstdImage);
        var sameImageReader = new FileDataReader(zstdImage);
        var gzipReader = new FileDataReader(gzipImage);
        var changedReader = new FileDataReader(changedImage);
        var gzipFiles = Files(gzipImage.Root, "").ToDictionary(file => file.Path, file => file.Content);
        var changedFiles = Files(changedImage.Root, "").ToDictionary(file => file.Path, file => file.Content);
        foreach (var (path, content) in Files(zstdImage.Root, ""))
        {
            Assert.True(FileDataReader.SameBytes(zstdReader, content, gzipReader, gzipFiles[path]), path);
            Assert.True(FileDataReader.SameBytes(zstdReader, content, sameImageReader, content), path);
            var expectChanged = path is "three-and-a-half" or "small.txt";
            Assert.Equal(!expectChanged, FileDataReader.SameBytes(zstdReader, content, changedReader, changedFiles[path]));
        }
        Assert.False(FileDataReader.SameBytes(zstdReader, Files(zstdImage.Root, "").Single(file => file.Path == "duplicate-a").Content,
            sameImageReader, Files(zstdImage.Root, "").Single(file => file.Path == "small.txt").Content));
    }

    private static async Task ChangeByteAsync(string path, long offset)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var original = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(original ^ 0x20));
    }

    private static IEnumerable<(string Path, SourceFileContent Content)> Files(Inode directory, string prefix)
    {
        foreach (var (name, child) in directory.Children)
        {
            var path = prefix + name;
            if (child.Content is SourceFileContent content)
            {
                yield return (path, content);
            }
            else if (child.Kind == EntryKind.Directory)
            {
                foreach (var file in Files(child, path + "/"))
                {
                    yield return file;
                }
            }
        }
    }
}
