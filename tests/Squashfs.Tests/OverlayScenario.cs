namespace Cray.Squashfs.Tests;

/// <summary>
/// A source image under a real overlay, as a customize job has it: the test changes the merged
/// view, packs it with mksquashfs (the reference), and the incremental packer packs the image and
/// the upper directory alone.
/// </summary>
internal sealed class OverlayScenario : IAsyncDisposable
{
    private readonly string workspace;
    private bool overlayMounted;
    private bool lowerMounted;

    private OverlayScenario(string workspace, string source, bool indexed)
    {
        this.workspace = workspace;
        Source = source;
        Indexed = indexed;
    }

    public string Source { get; }

    public bool Indexed { get; }

    /// <summary>The overlay's index (workdir/index) when it runs with one.</summary>
    public string? IndexDirectory => Indexed ? Path.Combine(workspace, "work", "index") : null;

    public string Lower => Path.Combine(workspace, "lower");

    public string Upper => Path.Combine(workspace, "upper");

    public string Merged => Path.Combine(workspace, "merged");

    public static async Task<OverlayScenario> MountAsync(string workspace, string source, bool indexed)
    {
        var scenario = new OverlayScenario(workspace, source, indexed);
        foreach (var directory in new[] { scenario.Lower, scenario.Upper, scenario.Merged, Path.Combine(workspace, "work") })
        {
            Directory.CreateDirectory(directory);
        }
        await ImageCorpus.RunAsync("mount", "-t", "squashfs", "-o", "ro,loop", source, scenario.Lower);
        scenario.lowerMounted = true;
        await ImageCorpus.RunAsync("mount", "-t", "overlay", "overlay", "-o",
            $"lowerdir={scenario.Lower},upperdir={scenario.Upper},workdir={Path.Combine(workspace, "work")},redirect_dir=off,metacopy=off,index={(indexed ? "on" : "off")}",
            scenario.Merged);
        scenario.overlayMounted = true;
        return scenario;
    }

    public string InMerged(string relative) => Path.Combine(Merged, relative);

    /// <summary>Runs a program in the merged view (its working directory).</summary>
    public Task<string> RunAsync(string program, params string[] arguments)
        => ImageCorpus.RunAsync("env", ["-C", Merged, program, .. arguments]);

    /// <summary>Packs the merged view with mksquashfs.</summary>
    public async Task<string> PackReferenceAsync()
    {
        var reference = Path.Combine(workspace, "reference.squashfs");
        await ImageCorpus.PackAsync(Merged, reference);
        return reference;
    }

    public async Task UnmountAsync()
    {
        if (overlayMounted)
        {
            await ImageCorpus.UnmountAsync(Merged);
            overlayMounted = false;
        }
        if (lowerMounted)
        {
            await ImageCorpus.UnmountAsync(Lower);
            lowerMounted = false;
        }
    }

    public async ValueTask DisposeAsync() => await UnmountAsync();
}
