using System.Collections.Concurrent;

namespace Cray.Platform.Work;

/// <summary>
/// The jobs or sessions this process is running, so that the API can stop one (when it is deleted)
/// and wait for its cleanup.
/// </summary>
public class RunningWork
{
    private readonly ConcurrentDictionary<string, (CancellationTokenSource Cancellation, Task Completion)> running = new();

    public void Register(string id, CancellationTokenSource cancellation, Task completion) => running[id] = (cancellation, completion);

    public void Unregister(string id) => running.TryRemove(id, out _);

    public bool IsRunning(string id) => running.ContainsKey(id);

    /// <summary>Cancels the work and waits for its cleanup; returns false when it was not running here.</summary>
    public async Task<bool> StopAsync(string id, TimeSpan wait)
    {
        if (!running.TryGetValue(id, out var work))
        {
            return false;
        }
        await work.Cancellation.CancelAsync();
        await Task.WhenAny(work.Completion, Task.Delay(wait));
        return true;
    }
}
