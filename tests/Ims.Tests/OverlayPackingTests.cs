using Cray.Ims.Jobs;
using Cray.Ims.Worker;
using Cray.Processes;

namespace Cray.Ims.Tests;

/// <summary>
/// How a customize job's overlay packs its result: incrementally by default (and the log says so),
/// with mksquashfs when told to (--ims-pack full), when the packer declines (a source compressed
/// otherwise than --ims-compressor), or to compact a result with too many unreferenced bytes.
/// </summary>
public sealed class OverlayPackingTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("overlay-packing-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static async Task RunAsync(string program, params string[] arguments)
        => await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest(program, arguments) { Timeout = TimeSpan.FromMinutes(5) });

    /// <summary>A small zstd source with many small files (their tails share fragment blocks).</summary>
    private async Task<string> SourceAsync(int smallFiles)
    {
        var tree = Directory.CreateDirectory(Path.Combine(root, "tree")).FullName;
        Directory.CreateDirectory(Path.Combine(tree, "etc"));
        await File.WriteAllTextAsync(Path.Combine(tree, "etc", "hostname"), "source\n");
        var many = Directory.CreateDirectory(Path.Combine(tree, "many")).FullName;
        var random = new Random(7);
        for (var i = 0; i < smallFiles; i++)
        {
            var bytes = new byte[2000];
            random.NextBytes(bytes);
            await File.WriteAllBytesAsync(Path.Combine(many, $"file-{i}"), bytes);
        }
        var image = Path.Combine(root, "source.squashfs");
        await RunAsync("mksquashfs", [tree, image, .. SquashfsOptions.For("zstd")]);
        return image;
    }

    private async Task<(List<string> Log, string Result)> PackAsync(string source, ImsWorkerOptions options, Func<string, Task> change, string jobId)
    {
        var workspace = new JobWorkspace(Path.Combine(root, "jobs"), jobId);
        workspace.Create();
        var log = new List<string>();
        var overlay = await OverlayImageRoot.MountAsync(workspace, new CachedSource(source, () => { }), [], ProcessRunner.Instance, options, TimeProvider.System, log.Add,
            CancellationToken.None);
        await using (overlay)
        {
            await change(overlay.HostView);
            await overlay.PackAsync(workspace.ResultSquashfs, SquashfsOptions.For(options.Compressor), log.Add, CancellationToken.None);
        }
        // The copy of the source's data made while the job ran became the result, or is gone with the overlay.
        Assert.Equal(["result.squashfs"], Directory.GetFiles(workspace.Directory).Select(Path.GetFileName));
        var extracted = Path.Combine(root, jobId + "-extracted");
        await RunAsync("unsquashfs", "-q", "-d", extracted, workspace.ResultSquashfs);
        return (log, extracted);
    }

    private ImsWorkerOptions Options(string compressor = "zstd", ImagePacking packing = ImagePacking.Incremental) => new()
    {
        JobsDirectory = Path.Combine(root, "jobs"),
        LogsDirectory = Path.Combine(root, "logs"),
        SourceCacheDirectory = Path.Combine(root, "cache"),
        Compressor = compressor,
        Packing = packing,
    };

    private static Task ChangeHostname(string imageRoot) => File.WriteAllTextAsync(Path.Combine(imageRoot, "etc", "hostname"), "customized\n");

    [Fact]
    public async Task AResultIsPackedIncrementallyAndCheckedByDefault()
    {
        var source = await SourceAsync(smallFiles: 20);
        var (log, result) = await PackAsync(source, Options(), ChangeHostname, "incremental");
        Assert.Contains(log, line => line.StartsWith("Packed incrementally in ", StringComparison.Ordinal)
            && line.Contains("copied from the source as stored while the job ran, 1 changed file(s)", StringComparison.Ordinal) && line.Contains("changed path(s) checked against the merged view", StringComparison.Ordinal));
        Assert.Equal("customized\n", await File.ReadAllTextAsync(Path.Combine(result, "etc", "hostname")));
        Assert.Equal(20, Directory.GetFiles(Path.Combine(result, "many")).Length);
    }

    [Theory]
    [InlineData("zstd", ImagePacking.Full, "Packed with mksquashfs (zstd) in ")]
    [InlineData("gzip", ImagePacking.Incremental, "Packing with mksquashfs instead of incrementally: the source image is compressed with zstd, and results are packed with gzip.")]
    public async Task MksquashfsPacksWhenToldOrWhenThePackerDeclines(string compressor, ImagePacking packing, string expected)
    {
        var source = await SourceAsync(smallFiles: 5);
        var (log, result) = await PackAsync(source, Options(compressor, packing), ChangeHostname, "full");
        Assert.Contains(log, line => line.StartsWith(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(log, line => line.StartsWith("Packed incrementally", StringComparison.Ordinal));
        Assert.Equal("customized\n", await File.ReadAllTextAsync(Path.Combine(result, "etc", "hostname")));
    }

    [Fact]
    public async Task AResultThatWouldBeMostlyUnreferencedBytesIsCompactedWithMksquashfs()
    {
        var source = await SourceAsync(smallFiles: 200);
        // All but one file of each fragment block gone: the blocks are still copied for that one.
        var (log, result) = await PackAsync(source, Options(), async imageRoot =>
        {
            foreach (var file in Directory.GetFiles(Path.Combine(imageRoot, "many")).Where(file => !file.EndsWith('0')))
            {
                File.Delete(file);
            }
            await Task.CompletedTask;
        }, "compact");
        Assert.Contains(log, line => line.StartsWith("Packing with mksquashfs to compact: ", StringComparison.Ordinal));
        Assert.Equal(20, Directory.GetFiles(Path.Combine(result, "many")).Length);
    }

    /// <summary>
    /// A layered job: each sealed layer keeps its changes apart; packed layers restored under a new
    /// job show the same merged view; the result packed over several layers is the image mksquashfs
    /// makes of the merged view, and the same whether the layers ran or were restored.
    /// </summary>
    [Fact]
    public async Task SealedLayersPackedAndRestoredMakeTheSameImage()
    {
        var source = await SourceAsync(smallFiles: 20);
        var options = Options();
        var log = new List<string>();
        var ran = new JobWorkspace(Path.Combine(root, "jobs"), "ran");
        ran.Create();
        var packedLayers = new List<string>();
        var expected = Path.Combine(root, "expected.squashfs");
        var overlay = await OverlayImageRoot.MountAsync(ran, new CachedSource(source, () => { }), [], ProcessRunner.Instance, options, TimeProvider.System, log.Add,
            CancellationToken.None);
        await using (overlay)
        {
            var view = overlay.HostView;
            Assert.True(overlay.Indexed);
            await File.WriteAllTextAsync(Path.Combine(view, "etc", "hostname"), "layer one\n");
            await File.WriteAllTextAsync(Path.Combine(view, "etc", "motd"), "from layer one\n");
            var first = await overlay.SealLayerAsync(log.Add, CancellationToken.None);
            Assert.False(overlay.Indexed);
            Assert.True(File.Exists(Path.Combine(first.UpperDirectory, "etc", "motd")));

            File.Delete(Path.Combine(view, "many", "file-3"));
            File.Delete(Path.Combine(view, "etc", "motd"));
            Directory.CreateDirectory(Path.Combine(view, "opt", "tool"));
            await File.WriteAllTextAsync(Path.Combine(view, "opt", "tool", "run"), "#!/bin/sh\n");
            var second = await overlay.SealLayerAsync(log.Add, CancellationToken.None);
            // Layer 1 is untouched by what layer 2 did: the deletion is a whiteout in layer 2.
            Assert.True(File.Exists(Path.Combine(first.UpperDirectory, "etc", "motd")));
            Assert.False(File.Exists(Path.Combine(view, "etc", "motd")));

            await File.WriteAllTextAsync(Path.Combine(view, "etc", "hostname"), "layer three\n");
            foreach (var layer in new[] { first, second })
            {
                var packed = Path.Combine(root, $"layer-{layer.Index}.squashfs");
                File.Move(await overlay.PackLayerAsync(layer, log.Add, CancellationToken.None), packed);
                packedLayers.Add(packed);
            }
            await RunAsync("mksquashfs", [view, expected, .. SquashfsOptions.For("zstd")]);
            await overlay.PackAsync(ran.ResultSquashfs, SquashfsOptions.For("zstd"), log.Add, CancellationToken.None);
        }
        Assert.Contains(log, line => line.StartsWith("Packed incrementally in ", StringComparison.Ordinal) && line.Contains(", 3 layers)", StringComparison.Ordinal));
        await RunAsync("sqfsdiff", "-a", expected, "-b", ran.ResultSquashfs);

        // A second job restores both layers and changes what the third did.
        var restored = new JobWorkspace(Path.Combine(root, "jobs"), "restored");
        restored.Create();
        overlay = await OverlayImageRoot.MountAsync(restored, new CachedSource(source, () => { }),
            packedLayers.Select(path => new CachedSource(path, () => { })).ToList(), ProcessRunner.Instance, options, TimeProvider.System, log.Add, CancellationToken.None);
        await using (overlay)
        {
            var view = overlay.HostView;
            Assert.Equal(2, overlay.Layers.Count);
            Assert.False(overlay.Indexed);
            Assert.Equal("layer one\n", await File.ReadAllTextAsync(Path.Combine(view, "etc", "hostname")));
            Assert.False(File.Exists(Path.Combine(view, "etc", "motd")));
            Assert.False(File.Exists(Path.Combine(view, "many", "file-3")));
            Assert.True(File.Exists(Path.Combine(view, "opt", "tool", "run")));
            await File.WriteAllTextAsync(Path.Combine(view, "etc", "hostname"), "layer three\n");
            await overlay.PackAsync(restored.ResultSquashfs, SquashfsOptions.For("zstd"), log.Add, CancellationToken.None);
        }
        await RunAsync("sqfsdiff", "-a", ran.ResultSquashfs, "-b", restored.ResultSquashfs);
    }
}
