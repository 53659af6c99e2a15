using System.Diagnostics;
using Cray.Ims.Jobs;
using Cray.Platform.Sandboxes;
using Cray.Processes;
using Cray.Squashfs;

namespace Cray.Ims.Worker;

/// <summary>
/// A customize job's image root without unpacking: the source squashfs mounted read-only (loop),
/// under an overlay whose upper directory in the job directory takes the job's changes. Both mounts
/// live in the job's own mount namespace, so the host never sees them and a crash that ends the
/// job's processes takes them down. What was deleted is absent from the merged view, so packing it
/// leaks no whiteouts; with the overlay's index, hard links stay whole when one name is changed.
/// The overlay's redirect_dir and metacopy are pinned off, so the upper directory holds every
/// changed file whole and the result can be packed incrementally from it. A layered job stacks
/// more layers between the source and the current upper directory: packed layers restored at
/// staging (mounted read-only), and each layer sealed since (its upper directory, now read-only);
/// only a layer directly on the source runs with the index, as the packer reads it only there.
/// </summary>
public sealed class OverlayImageRoot : IStagedImageRoot
{
    /// <summary>Past this share of unreferenced bytes (tails of files gone, in copied fragment blocks) a result is packed whole, to compact it.</summary>
    public const double CompactionThreshold = 0.10;

    private const string PackedUpperName = "upper";
    private const string PackedIndexName = "index";

    private readonly CachedSource source;
    private readonly JobWorkspace workspace;
    private readonly IProcessRunner runner;
    private readonly ImsWorkerOptions options;
    private readonly TimeProvider clock;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task<string?>? sourceDataCopy;
    private readonly List<StackedLayer> layers;

    private OverlayImageRoot(HeldNamespace mountNamespace, CachedSource source, JobWorkspace workspace, List<StackedLayer> layers, IProcessRunner runner,
        ImsWorkerOptions options, TimeProvider clock)
    {
        MountNamespace = mountNamespace;
        this.source = source;
        this.workspace = workspace;
        this.layers = layers;
        this.runner = runner;
        this.options = options;
        this.clock = clock;
        HostView = mountNamespace.View(workspace.ImageRoot);
        if (options.Packing == ImagePacking.Incremental)
        {
            // The source's data area is copied while the job runs, so that packing writes only what changed.
            sourceDataCopy = Task.Run(() => CopySourceData(), CancellationToken.None);
        }
    }

    private string SourceDataPath => Path.Combine(workspace.Directory, "result-source-data");

    private string? CopySourceData()
    {
        try
        {
            SourceDataCopy.Copy(source.Path, SourceDataPath, stopping.Token, options.Compressor);
            return SourceDataPath;
        }
        catch (Exception exception) when (exception is SquashfsFormatException or IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Whether the current layer runs with the overlay's index (copied-up hard links stay whole).</summary>
    public bool Indexed { get; private set; }

    public HeldNamespace MountNamespace { get; }

    /// <summary>The merged image root as this process reaches it (through the namespace holder's root).</summary>
    public string HostView { get; }

    /// <summary>Where the current layer's changes go: the job's upper directory for the first layer, then one of its own per layer.</summary>
    public string UpperDirectory => layers.Count == 0 ? workspace.UpperDirectory : Path.Combine(workspace.LayerDirectory(layers.Count + 1), PackedUpperName);

    private string WorkDirectory => layers.Count == 0 ? workspace.OverlayWorkDirectory : Path.Combine(workspace.LayerDirectory(layers.Count + 1), "work");

    /// <summary>The layers below the current one, lowest first.</summary>
    public IReadOnlyList<StackedLayer> Layers => layers;

    /// <param name="restored">Packed layers (made by <see cref="PackLayerAsync"/>) to stack on the source, lowest first.</param>
    public static async Task<OverlayImageRoot> MountAsync(JobWorkspace workspace, CachedSource source, IReadOnlyList<CachedSource> restored, IProcessRunner runner,
        ImsWorkerOptions options, TimeProvider clock, Action<string> log, CancellationToken cancellationToken)
    {
        foreach (var directory in new[] { workspace.LowerDirectory, workspace.UpperDirectory, workspace.OverlayWorkDirectory, workspace.ImageRoot })
        {
            Directory.CreateDirectory(directory);
        }
        var mountNamespace = await HeldNamespace.CreateAsync(runner, "mnt", ["--mount", "--propagation", "private"], workspace.Directory, cancellationToken);
        OverlayImageRoot? overlay = null;
        try
        {
            await MountSquashfsAsync(runner, mountNamespace, source.Path, workspace.LowerDirectory, cancellationToken);
            var layers = new List<StackedLayer>();
            for (var index = 1; index <= restored.Count; index++)
            {
                var mountPoint = workspace.LayerDirectory(index);
                Directory.CreateDirectory(mountPoint);
                await MountSquashfsAsync(runner, mountNamespace, restored[index - 1].Path, mountPoint, cancellationToken);
                var upper = Path.Combine(mountPoint, PackedUpperName);
                if (!Directory.Exists(mountNamespace.View(upper)))
                {
                    throw new JobFailedException($"The packed layer {index} has no {PackedUpperName} directory: it was not packed by a layered job.");
                }
                // Only the lowest layer's index is read: above it, copy-ups name files of other layers.
                var packedIndex = mountNamespace.View(Path.Combine(mountPoint, PackedIndexName));
                layers.Add(new StackedLayer(index, upper, mountNamespace.View(upper), index == 1 && Directory.Exists(packedIndex) ? packedIndex : null, restored[index - 1]));
            }
            overlay = new OverlayImageRoot(mountNamespace, source, workspace, layers, runner, options, clock);
            await overlay.MountOverlayAsync(log, cancellationToken);
            log($"Mounted {source.Path} read-only under an overlay at {workspace.ImageRoot}"
                + (layers.Count > 0 ? $" with {layers.Count} restored layer(s) on it" : "")
                + $" (changes go to {overlay.UpperDirectory}); nothing was unpacked.");
            return overlay;
        }
        catch
        {
            // The caller still owns the source and the restored layers: only what this made goes.
            if (overlay is not null)
            {
                await overlay.StopAsync();
            }
            else
            {
                await mountNamespace.DisposeAsync();
            }
            throw;
        }
    }

    private static Task MountSquashfsAsync(IProcessRunner runner, HeldNamespace mountNamespace, string image, string mountPoint, CancellationToken cancellationToken)
        => runner.RunCheckedAsync(HeldNamespace.Enter("mount", ["-t", "squashfs", "-o", "ro,loop,nodev,nosuid", image, mountPoint], mountNamespace)
            with
        { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);

    /// <summary>Mounts the overlay of the stack as it is now: the index only for a layer directly on the source.</summary>
    private async Task MountOverlayAsync(Action<string> log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(UpperDirectory);
        Directory.CreateDirectory(WorkDirectory);
        var lowers = string.Join(':', layers.AsEnumerable().Reverse().Select(layer => layer.LowerDirectory).Append(workspace.LowerDirectory));
        var stack = $"lowerdir={lowers},upperdir={UpperDirectory},workdir={WorkDirectory},redirect_dir=off,metacopy=off";
        if (layers.Count > 0)
        {
            await runner.RunCheckedAsync(HeldNamespace.Enter("mount", ["-t", "overlay", "overlay", "-o", stack + ",index=off,nodev,nosuid", workspace.ImageRoot], MountNamespace)
                with
            { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
            Indexed = false;
            return;
        }
        var indexed = await runner.RunAsync(HeldNamespace.Enter("mount", ["-t", "overlay", "overlay", "-o", stack + ",index=on,nodev,nosuid", workspace.ImageRoot], MountNamespace)
            with
        { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
        if (!indexed.Succeeded)
        {
            // A source built without NFS export tables cannot be indexed; only hard links that a job splits suffer.
            log($"The overlay's index is not available for this source ({indexed.Output.Trim()}); hard links changed by the job are stored as separate files.");
            await runner.RunCheckedAsync(HeldNamespace.Enter("mount", ["-t", "overlay", "overlay", "-o", stack + ",nodev,nosuid", workspace.ImageRoot], MountNamespace)
                with
            { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
        }
        Indexed = indexed.Succeeded;
    }

    /// <summary>
    /// Seals the current layer: the overlay comes down (nothing may run in the jail by then), its
    /// upper directory becomes the top read-only layer, and the overlay comes up again on a fresh
    /// upper directory. Returns the sealed layer.
    /// </summary>
    public async Task<StackedLayer> SealLayerAsync(Action<string> log, CancellationToken cancellationToken)
    {
        var unmounted = await runner.RunAsync(HeldNamespace.Enter("umount", [workspace.ImageRoot], MountNamespace) with { Timeout = TimeSpan.FromMinutes(1) },
            cancellationToken);
        if (!unmounted.Succeeded)
        {
            // Something of the jail outlived its sshd: sealing under it would let it change a read-only layer.
            throw new JobFailedException($"The layer could not be sealed: the image root is still in use ({unmounted.Output.Trim()}).");
        }
        var sealedLayer = new StackedLayer(layers.Count + 1, UpperDirectory, UpperDirectory, Indexed ? Path.Combine(WorkDirectory, "index") : null, Packed: null);
        layers.Add(sealedLayer);
        await MountOverlayAsync(log, cancellationToken);
        log($"Layer {sealedLayer.Index} sealed; layer {layers.Count + 1} takes the changes from now on ({UpperDirectory}).");
        return sealedLayer;
    }

    /// <summary>
    /// Packs a sealed layer as a squashfs holding <c>upper</c> (whiteouts, opaque directories and
    /// owners as the overlay wrote them) and, for a layer that ran with the index, <c>index</c>: what
    /// <see cref="MountAsync"/> restores. Returns the packed file.
    /// </summary>
    public async Task<string> PackLayerAsync(StackedLayer layer, Action<string> log, CancellationToken cancellationToken)
    {
        if (layer.Packed is not null)
        {
            throw new InvalidOperationException($"Layer {layer.Index} was restored from a packed layer; it is not packed again.");
        }
        var packed = workspace.PackedLayer(layer.Index);
        File.Delete(packed);
        var stopwatch = Stopwatch.StartNew();
        // The index holds hard links to the upper directory's files: packed together, each file is stored once.
        var index = layer.IndexDirectory is { } indexDirectory && Directory.Exists(indexDirectory) && Directory.EnumerateFileSystemEntries(indexDirectory).Any()
            ? indexDirectory
            : null;
        List<string> arguments = index is null ? [layer.UpperDirectory, packed] : [layer.UpperDirectory, index, packed];
        arguments.AddRange(SquashfsOptions.For(options.Compressor));
        if (index is null)
        {
            arguments.Add("-keep-as-directory");
        }
        await runner.RunCheckedAsync(new ProcessRequest("mksquashfs", arguments) { Timeout = TimeSpan.FromHours(1), OutputLine = log }, cancellationToken);
        log($"Layer {layer.Index} packed in {stopwatch.Elapsed.TotalSeconds:0.0} s: {new FileInfo(packed).Length} bytes.");
        return packed;
    }

    /// <summary>
    /// Packs the result: incrementally (the source's stored blocks copied, the layers' files
    /// compressed, checked against the merged view) unless --ims-pack full; with mksquashfs
    /// of the merged view, in the job's mount namespace, when the packer declines, when the check
    /// finds a difference, or when too much of the result would be unreferenced bytes.
    /// </summary>
    public async Task PackAsync(string resultPath, IReadOnlyList<string> squashfsOptions, Action<string> log, CancellationToken cancellationToken)
    {
        if (options.Packing == ImagePacking.Incremental && await TryPackIncrementallyAsync(resultPath, log, cancellationToken))
        {
            return;
        }
        var stopwatch = Stopwatch.StartNew();
        await runner.RunCheckedAsync(HeldNamespace.Enter("mksquashfs", [workspace.ImageRoot, resultPath, .. squashfsOptions], MountNamespace) with
        {
            Timeout = TimeSpan.FromHours(2),
            OutputLine = log,
        }, cancellationToken);
        log($"Packed with mksquashfs ({options.Compressor}) in {stopwatch.Elapsed.TotalSeconds:0.0} s: {new FileInfo(resultPath).Length} bytes.");
    }

    private async Task<bool> TryPackIncrementallyAsync(string resultPath, Action<string> log, CancellationToken cancellationToken)
    {
        IncrementalPackResult result;
        int checkedPaths;
        string? sourceData;
        List<OverlayLayer> stack = [.. layers.Select(layer => new OverlayLayer(layer.UpperDirectory, layer.IndexDirectory)),
            new OverlayLayer(UpperDirectory, Indexed ? Path.Combine(WorkDirectory, "index") : null)];
        try
        {
            sourceData = sourceDataCopy is null ? null : await sourceDataCopy.WaitAsync(cancellationToken);
            (result, checkedPaths) = await Task.Run(() =>
            {
                var packed = IncrementalPacker.Pack(source.Path, stack, resultPath,
                    (uint)Math.Clamp(clock.GetUtcNow().ToUnixTimeSeconds(), 0, uint.MaxValue), options.Compressor, sourceData);
                return (packed, PackVerifier.Verify(resultPath, HostView, stack.Select(layer => layer.UpperDirectory).ToList()));
            }, cancellationToken);
        }
        catch (Exception exception) when (exception is SquashfsFormatException or IOException or UnauthorizedAccessException)
        {
            // A name .NET cannot read back (not UTF-8), say, is mksquashfs's to pack: the job does not fail for it.
            File.Delete(resultPath);
            log($"Packing with mksquashfs instead of incrementally: {exception.Message.TrimEnd('.')}.");
            return false;
        }
        var written = result.Written;
        var unreferencedShare = (double)written.UnreferencedFragmentBytes / written.ImageBytes;
        if (unreferencedShare > CompactionThreshold)
        {
            File.Delete(resultPath);
            log($"Packing with mksquashfs to compact: {unreferencedShare:P1} of an incremental result would be tails of files that are gone (over {CompactionThreshold:P0}).");
            return false;
        }
        log($"Packed incrementally in {result.Elapsed.TotalSeconds:0.00} s ({result.Compressor}"
            + (stack.Count > 1 ? $", {stack.Count} layers" : "") + $"): {written.CopiedBytes} bytes copied from the source as stored"
            + (sourceData is null ? ", " : " while the job ran, ")
            + $"{written.NewFiles} changed file(s) ({written.NewFileBytes} bytes) compressed, {written.ImageBytes} bytes in all, "
            + $"{unreferencedShare:P1} unreferenced; {checkedPaths} changed path(s) checked against the merged view.");
        return true;
    }

    /// <summary>Stops the copy of the source's data and ends the namespace holder; the source and restored layers stay the owner's.</summary>
    private async Task StopAsync()
    {
        await stopping.CancelAsync();
        if (sourceDataCopy is not null)
        {
            await sourceDataCopy;
        }
        File.Delete(SourceDataPath);
        stopping.Dispose();
        await MountNamespace.DisposeAsync();
    }

    /// <summary>Ends the namespace holder (once no process of the job is left in it, the kernel unmounts every layer and frees the loop devices) and releases the source and the restored layers.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        source.Dispose();
        foreach (var layer in layers)
        {
            layer.Packed?.Dispose();
        }
    }
}

/// <summary>
/// A read-only layer of a layered job's overlay: <paramref name="LowerDirectory"/> as the overlay
/// mount names it (in the job's mount namespace), <paramref name="UpperDirectory"/> and
/// <paramref name="IndexDirectory"/> as this process reads them, and the packed layer it was
/// restored from, if it was.
/// </summary>
public sealed record StackedLayer(int Index, string LowerDirectory, string UpperDirectory, string? IndexDirectory, CachedSource? Packed);
