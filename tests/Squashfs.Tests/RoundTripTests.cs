namespace Cray.Squashfs.Tests;

/// <summary>An image read and written again with nothing changed is the same image to unsquashfs, sqfsdiff and the kernel.</summary>
public sealed class RoundTripTests : IDisposable
{
    private readonly string workspace = Directory.CreateTempSubdirectory("squashfs-round-trip-").FullName;

    public void Dispose() => Directory.Delete(workspace, recursive: true);

    [Theory]
    [InlineData("")]
    [InlineData("-no-fragments")]
    [InlineData("-always-use-fragments")]
    [InlineData("-no-exports -no-xattrs")]
    public async Task AnImageWrittenAgainFromItsTreeIsTheSameImage(string packOptions)
    {
        var tree = Path.Combine(workspace, "tree");
        await ImageCorpus.BuildAsync(tree);
        var source = Path.Combine(workspace, "source.squashfs");
        await ImageCorpus.PackAsync(tree, source, packOptions.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var copy = Path.Combine(workspace, "copy.squashfs");
        using (var image = SourceImage.Open(source))
        {
            var summary = ImageWriter.Write(image.Root, image, copy, image.Superblock.ModificationTime);
            Assert.Equal(0, summary.NewFiles);
            Assert.Equal(0, summary.UnreferencedFragmentBytes);
        }
        await AssertSameImageAsync(source, copy);
    }

    [Fact]
    public async Task ADebianRootWrittenAgainIsTheSameImage()
    {
        var source = await ImageCorpus.BaseImageAsync();
        var copy = Path.Combine(workspace, "copy.squashfs");
        using (var image = SourceImage.Open(source))
        {
            var summary = ImageWriter.Write(image.Root, image, copy, image.Superblock.ModificationTime);
            Assert.Equal(0, summary.NewFiles);
        }
        await AssertSameImageAsync(source, copy);
    }

    internal static async Task AssertSameImageAsync(string expected, string actual)
    {
        Assert.Equal(await ImageCorpus.ListingAsync(expected), await ImageCorpus.ListingAsync(actual));
        await ImageCorpus.RunAsync("sqfsdiff", "-a", expected, "-b", actual, "-T");
        SortedDictionary<string, string> expectedTree, actualTree;
        await using (var mounted = await MountedImage.MountAsync(expected))
        {
            expectedTree = mounted.Describe();
        }
        await using (var mounted = await MountedImage.MountAsync(actual))
        {
            actualTree = mounted.Describe();
        }
        Assert.Equal(expectedTree.Keys, actualTree.Keys);
        foreach (var (path, description) in expectedTree)
        {
            Assert.Equal($"{path}: {description}", $"{path}: {actualTree[path]}");
        }
    }
}
