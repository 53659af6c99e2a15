using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Cray.Ims.Jobs;

/// <summary>Connects the API to the worker in this process: wakes it for new jobs and stops running ones.</summary>
public sealed class JobControl
{
    private readonly Channel<string> created = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, RunningJob> running = new();

    public ChannelReader<string> Created => created.Reader;

    public void NotifyCreated(string jobId) => created.Writer.TryWrite(jobId);

    public void Register(string jobId, CancellationTokenSource cancellation, Task completion)
        => running[jobId] = new RunningJob(cancellation, completion);

    public void Unregister(string jobId) => running.TryRemove(jobId, out _);

    public bool IsRunning(string jobId) => running.ContainsKey(jobId);

    /// <summary>Cancels a running job and waits for its cleanup; returns false when it was not running here.</summary>
    public async Task<bool> StopAsync(string jobId, TimeSpan wait)
    {
        if (!running.TryGetValue(jobId, out var job))
        {
            return false;
        }
        await job.Cancellation.CancelAsync();
        await Task.WhenAny(job.Completion, Task.Delay(wait));
        return true;
    }

    private sealed record RunningJob(CancellationTokenSource Cancellation, Task Completion);
}
