namespace Cray.Ims.Worker;

/// <summary>
/// A job's image root as it was made ready: a customize job's overlay over the cached source, or
/// a create job's build sandbox. Each knows where the host reads it and how it is packed so that
/// its files come out with the image's own owners.
/// </summary>
public interface IStagedImageRoot : IAsyncDisposable
{
    /// <summary>The image root as this process reaches it.</summary>
    string HostView { get; }

    /// <summary>Packs the image root with mksquashfs into <paramref name="resultPath"/>.</summary>
    Task PackAsync(string resultPath, IReadOnlyList<string> squashfsOptions, Action<string> log, CancellationToken cancellationToken);
}
