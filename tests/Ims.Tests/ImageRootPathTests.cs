using Cray.Ims.Worker;

namespace Cray.Ims.Tests;

/// <summary>Files of an image root are found as a process jailed in it would find them: no link leads out.</summary>
public sealed class ImageRootPathTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("image-root-path-").FullName;

    private string Root => Path.Combine(directory, "root");

    private string Outside => Path.Combine(directory, "outside");

    public ImageRootPathTests()
    {
        Directory.CreateDirectory(Path.Combine(Root, "boot"));
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "vmlinuz"), "host");
        File.WriteAllText(Path.Combine(Root, "boot", "vmlinuz-6.1"), "kernel");
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void APlainFileIsFound()
        => Assert.Equal(Path.Combine(Root, "boot", "vmlinuz-6.1"), ImageRootPath.Resolve(Root, "boot/vmlinuz-6.1", out _));

    [Fact]
    public void RelativeAndAbsoluteLinksResolveInsideTheRoot()
    {
        File.CreateSymbolicLink(Path.Combine(Root, "boot", "vmlinuz"), "vmlinuz-6.1");
        File.CreateSymbolicLink(Path.Combine(Root, "vmlinuz"), "/boot/vmlinuz");
        Assert.Equal(Path.Combine(Root, "boot", "vmlinuz-6.1"), ImageRootPath.Resolve(Root, "boot/vmlinuz", out _));
        Assert.Equal(Path.Combine(Root, "boot", "vmlinuz-6.1"), ImageRootPath.Resolve(Root, "vmlinuz", out _));
    }

    [Fact]
    public void ALinkToAHostDirectoryLeadsToTheSamePathInsideTheImage()
    {
        Directory.Delete(Path.Combine(Root, "boot"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(Root, "boot"), Outside);
        Assert.Null(ImageRootPath.Resolve(Root, "boot/vmlinuz", out var reason));
        Assert.Contains("does not exist in the image root", reason);
    }

    [Fact]
    public void DotDotStopsAtTheRoot()
    {
        File.CreateSymbolicLink(Path.Combine(Root, "boot", "escape"), "../../../../outside/vmlinuz");
        Assert.Null(ImageRootPath.Resolve(Root, "boot/escape", out _));
        Assert.Null(ImageRootPath.Resolve(Root, "../outside/vmlinuz", out _));
    }

    [Fact]
    public void ALinkLoopEnds()
    {
        File.CreateSymbolicLink(Path.Combine(Root, "boot", "a"), "b");
        File.CreateSymbolicLink(Path.Combine(Root, "boot", "b"), "a");
        Assert.Null(ImageRootPath.Resolve(Root, "boot/a", out var reason));
        Assert.Contains("symbolic links", reason);
    }
}
