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

    /// <summary>Returns the signal, or null when <paramref name="timeout"/> passes first (as <paramref name="clock"/> tells it).</summary>
    public static async Task<UserSignal?> WaitAsync(string directory, TimeSpan timeout, TimeProvider clock, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Wake(object sender, FileSystemEventArgs change) => Volatile.Read(ref changed).TrySetResult();
        using var watcher = new FileSystemWatcher(directory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite,
            IncludeSubdirectories = false,
        };
        watcher.Created += Wake;
        watcher.Renamed += Wake;
        watcher.Changed += Wake;
        watcher.EnableRaisingEvents = true;

        var deadline = clock.GetUtcNow() + timeout;
        while (true)
        {
            // A fresh wake-up before each look, so a file made between the look and the wait is not missed.
            Volatile.Write(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            var woken = Volatile.Read(ref changed).Task;
            if (Current(directory) is { } signal)
            {
                return signal;
            }
            var remaining = deadline - clock.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return null;
            }
            await Task.WhenAny(woken, Task.Delay(remaining < RecheckInterval ? remaining : RecheckInterval, clock, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
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
