using System.Collections.Concurrent;

namespace Cray.Cfs.Runner;

/// <summary>Lets the API stop a session this process is running (when it is deleted) and wait for its cleanup.</summary>
public sealed class SessionControl
{
    private readonly ConcurrentDictionary<string, (CancellationTokenSource Cancellation, Task Completion)> running = new();

    public void Register(string name, CancellationTokenSource cancellation, Task completion) => running[name] = (cancellation, completion);

    public void Unregister(string name) => running.TryRemove(name, out _);

    public async Task StopAsync(string name, TimeSpan wait)
    {
        if (running.TryGetValue(name, out var session))
        {
            await session.Cancellation.CancelAsync();
            await Task.WhenAny(session.Completion, Task.Delay(wait));
        }
    }
}
