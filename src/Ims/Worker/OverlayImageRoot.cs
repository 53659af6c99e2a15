using Cray.Ims.Jobs;
using Cray.Platform.Sandboxes;
using Cray.Processes;

namespace Cray.Ims.Worker;

/// <summary>
/// A customize job's image root without unpacking: the source squashfs mounted read-only (loop),
/// under an overlay whose upper directory in the job directory takes the job's changes. Both mounts
/// live in the job's own mount namespace, so the host never sees them and a crash that ends the
/// job's processes takes them down. What was deleted is absent from the merged view, so packing it
/// leaks no whiteouts; with the overlay's index, hard links stay whole when one name is changed.
/// </summary>
public sealed class OverlayImageRoot : IStagedImageRoot
{
    private readonly CachedSource source;
    private readonly string imageRoot;
    private readonly IProcessRunner runner;

    private OverlayImageRoot(HeldNamespace mountNamespace, CachedSource source, string imageRoot, IProcessRunner runner)
    {
        MountNamespace = mountNamespace;
        this.source = source;
        this.imageRoot = imageRoot;
        this.runner = runner;
        HostView = mountNamespace.View(imageRoot);
    }

    public HeldNamespace MountNamespace { get; }

    /// <summary>The merged image root as this process reaches it (through the namespace holder's root).</summary>
    public string HostView { get; }

    public static async Task<OverlayImageRoot> MountAsync(JobWorkspace workspace, CachedSource source, IProcessRunner runner, Action<string> log,
        CancellationToken cancellationToken)
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
            var layers = $"lowerdir={workspace.LowerDirectory},upperdir={workspace.UpperDirectory},workdir={workspace.OverlayWorkDirectory}";
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
            return new OverlayImageRoot(mountNamespace, source, workspace.ImageRoot, runner);
        }
        catch
        {
            await mountNamespace.DisposeAsync();
            throw;
        }
    }

    /// <summary>Packs the merged view, in the job's mount namespace.</summary>
    public Task PackAsync(string resultPath, IReadOnlyList<string> squashfsOptions, Action<string> log, CancellationToken cancellationToken)
        => runner.RunCheckedAsync(HeldNamespace.Enter("mksquashfs", [imageRoot, resultPath, .. squashfsOptions], MountNamespace) with
        {
            Timeout = TimeSpan.FromHours(2),
            OutputLine = log,
        }, cancellationToken);

    /// <summary>Ends the namespace holder: once no process of the job is left in it, the kernel unmounts both layers and frees the loop device.</summary>
    public async ValueTask DisposeAsync()
    {
        await MountNamespace.DisposeAsync();
        source.Dispose();
    }
}
