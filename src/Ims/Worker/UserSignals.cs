namespace Cray.Ims.Worker;

public enum UserSignal
{
    Complete,
    Failed,
}

/// <summary>
/// Waits for the user's <c>complete</c> or <c>failed</c> file. A directory watch (inotify) notices it
/// at once; a slow re-check covers a watch that was lost, for example when the user replaced /tmp.
/// </summary>
public static class UserSignals
{
    public const string CompleteFile = "complete";
    public const string FailedFile = "failed";

    private static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(15);

    /// <summary>Returns the signal, or null when <paramref name="timeout"/> passes first.</summary>
    public static async Task<UserSignal?> WaitAsync(string directory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var changed = new SemaphoreSlim(0);
        using var watcher = new FileSystemWatcher(directory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite,
            IncludeSubdirectories = false,
        };
        watcher.Created += (_, _) => changed.Release();
        watcher.Renamed += (_, _) => changed.Release();
        watcher.Changed += (_, _) => changed.Release();
        watcher.EnableRaisingEvents = true;

        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Current(directory) is { } signal)
            {
                return signal;
            }
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return null;
            }
            await changed.WaitAsync(remaining < RecheckInterval ? remaining : RecheckInterval, cancellationToken);
        }
    }

    /// <summary>A failure signal wins over a completion signal when both are there.</summary>
    public static UserSignal? Current(string directory)
        => File.Exists(Path.Combine(directory, FailedFile)) ? UserSignal.Failed
            : File.Exists(Path.Combine(directory, CompleteFile)) ? UserSignal.Complete
            : null;

    public static void Remove(string directory)
    {
        File.Delete(Path.Combine(directory, CompleteFile));
        File.Delete(Path.Combine(directory, FailedFile));
    }
}
