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
/// changed file whole and the result can be packed incrementally from it.
/// </summary>
public sealed class OverlayImageRoot : IStagedImageRoot
{
    /// <summary>Past this share of unreferenced bytes (tails of files gone, in copied fragment blocks) a result is packed whole, to compact it.</summary>
    public const double CompactionThreshold = 0.10;

    private readonly CachedSource source;
    private readonly JobWorkspace workspace;
    private readonly IProcessRunner runner;
    private readonly ImsWorkerOptions options;
    private readonly TimeProvider clock;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task<string?>? sourceDataCopy;

    private OverlayImageRoot(HeldNamespace mountNamespace, CachedSource source, JobWorkspace workspace, bool indexed, IProcessRunner runner, ImsWorkerOptions options,
        TimeProvider clock)
    {
        MountNamespace = mountNamespace;
        this.source = source;
        this.workspace = workspace;
        Indexed = indexed;
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

    /// <summary>Whether the overlay runs with its index (copied-up hard links stay whole).</summary>
    public bool Indexed { get; }

    public HeldNamespace MountNamespace { get; }

    /// <summary>The merged image root as this process reaches it (through the namespace holder's root).</summary>
    public string HostView { get; }

    public static async Task<OverlayImageRoot> MountAsync(JobWorkspace workspace, CachedSource source, IProcessRunner runner, ImsWorkerOptions options, TimeProvider clock,
        Action<string> log, CancellationToken cancellationToken)
    {
        foreach (var directory in new[] { workspace.LowerDirectory, workspace.UpperDirectory, workspace.OverlayWorkDirectory, workspace.ImageRoot })
        {
            Directory.CreateDirectory(directory);
        }
        var mountNamespace = await HeldNamespace.CreateAsync(runner, "mnt", ["--mount", "--propagation", "private"], workspace.Directory, cancellationToken);
        try
        {
            await runner.RunCheckedAsync(HeldNamespace.Enter("mount", ["-t", "squashfs", "-o", "ro,loop,nodev,nosuid", source.Path, workspace.LowerDirectory], mountNamespace)
                with
            { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
            var layers = $"lowerdir={workspace.LowerDirectory},upperdir={workspace.UpperDirectory},workdir={workspace.OverlayWorkDirectory},redirect_dir=off,metacopy=off";
            var indexed = await runner.RunAsync(HeldNamespace.Enter("mount", ["-t", "overlay", "overlay", "-o", layers + ",index=on,nodev,nosuid", workspace.ImageRoot], mountNamespace)
                with
            { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
            if (!indexed.Succeeded)
            {
                // A source built without NFS export tables cannot be indexed; only hard links that a job splits suffer.
                log($"The overlay's index is not available for this source ({indexed.Output.Trim()}); hard links changed by the job are stored as separate files.");
                await runner.RunCheckedAsync(HeldNamespace.Enter("mount", ["-t", "overlay", "overlay", "-o", layers + ",nodev,nosuid", workspace.ImageRoot], mountNamespace)
                    with
                { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
            }
            log($"Mounted {source.Path} read-only under an overlay at {workspace.ImageRoot} (changes go to {workspace.UpperDirectory}); nothing was unpacked.");
            return new OverlayImageRoot(mountNamespace, source, workspace, indexed.Succeeded, runner, options, clock);
        }
        catch
        {
            await mountNamespace.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Packs the result: incrementally (the source's stored blocks copied, the upper directory's
    /// files compressed, checked against the merged view) unless --ims-pack full; with mksquashfs
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
        try
        {
            sourceData = sourceDataCopy is null ? null : await sourceDataCopy.WaitAsync(cancellationToken);
            (result, checkedPaths) = await Task.Run(() =>
            {
                var packed = IncrementalPacker.Pack(source.Path, workspace.UpperDirectory, Indexed ? Path.Combine(workspace.OverlayWorkDirectory, "index") : null, resultPath,
                    (uint)Math.Clamp(clock.GetUtcNow().ToUnixTimeSeconds(), 0, uint.MaxValue), options.Compressor, sourceData);
                return (packed, PackVerifier.Verify(resultPath, HostView, workspace.UpperDirectory));
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
        log($"Packed incrementally in {result.Elapsed.TotalSeconds:0.00} s ({result.Compressor}): {written.CopiedBytes} bytes copied from the source as stored"
            + (sourceData is null ? ", " : " while the job ran, ")
            + $"{written.NewFiles} changed file(s) ({written.NewFileBytes} bytes) compressed, {written.ImageBytes} bytes in all, "
            + $"{unreferencedShare:P1} unreferenced; {checkedPaths} changed path(s) checked against the merged view.");
        return true;
    }

    /// <summary>Ends the namespace holder: once no process of the job is left in it, the kernel unmounts both layers and frees the loop device.</summary>
    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        if (sourceDataCopy is not null)
        {
            await sourceDataCopy;
        }
        File.Delete(SourceDataPath);
        stopping.Dispose();
        await MountNamespace.DisposeAsync();
        source.Dispose();
    }
}
