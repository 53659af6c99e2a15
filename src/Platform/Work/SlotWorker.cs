using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cray.Platform.Work;

/// <summary>
/// A background role that claims work items from the store and runs up to a number of them at
/// once. At start it recovers what a previous run left; at shutdown it lets running items clean up.
/// </summary>
public abstract class SlotWorker(RunningWork running, int slots, ILogger logger) : BackgroundService
{
    /// <summary>Ends or resumes what a crash of an earlier process left behind.</summary>
    protected abstract Task RecoverAsync(CancellationToken cancellationToken);

    /// <summary>Waits until an item can be claimed for this worker, and returns its id.</summary>
    protected abstract Task<string> ClaimNextAsync(CancellationToken cancellationToken);

    /// <summary>Runs one claimed item to its end; it handles its own failures.</summary>
    protected abstract Task RunAsync(string id, CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await RecoverAsync(stoppingToken);
        using var free = new SemaphoreSlim(slots);
        var tasks = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await free.WaitAsync(stoppingToken);
                var id = await ClaimNextAsync(stoppingToken);
                var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var completion = new TaskCompletionSource();
                running.Register(id, cancellation, completion.Task);
                tasks.RemoveAll(task => task.IsCompleted);
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        await RunAsync(id, cancellation.Token);
                    }
                    catch (Exception exception)
                    {
                        logger.LogError(exception, "{Id} failed outside its own error handling", id);
                    }
                    finally
                    {
                        running.Unregister(id);
                        cancellation.Dispose();
                        completion.SetResult();
                        free.Release();
                    }
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        // Let every running item stop its processes and clean up before the process exits.
        await Task.WhenAll(tasks);
    }
}
