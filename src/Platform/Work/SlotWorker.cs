using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cray.Platform.Work;

/// <summary>
/// A background role that claims work items from the store and runs up to a number of them at
/// once, holding a lease on each (renewed while it runs). At start it recovers what its own earlier
/// run left; while it runs it also ends items whose worker let their lease expire, on any machine;
/// at shutdown it lets running items clean up.
/// </summary>
public abstract class SlotWorker(RunningWork running, int slots, LeaseSettings leases, TimeProvider clock, ILogger logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, byte> held = new();

    protected LeaseSettings Leases => leases;

    protected TimeProvider Clock => clock;

    /// <summary>Ends or resumes what a crash of an earlier run of this worker (by its name) left behind.</summary>
    protected abstract Task RecoverAsync(CancellationToken cancellationToken);

    /// <summary>Waits until an item can be claimed for this worker, with <paramref name="lease"/>, and returns its id.</summary>
    protected abstract Task<string> ClaimNextAsync(Func<WorkLease> lease, CancellationToken cancellationToken);

    /// <summary>Runs one claimed item to its end; it handles its own failures.</summary>
    protected abstract Task RunAsync(string id, CancellationToken cancellationToken);

    /// <summary>Extends this worker's lease on an item it runs.</summary>
    protected abstract Task RenewAsync(string id, WorkLease lease, CancellationToken cancellationToken);

    /// <summary>Ends the items whose lease expired before <paramref name="now"/> (their worker stopped), saying so.</summary>
    protected abstract Task EndExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>False once the item's record is gone: deleted through any server's API, so its work must stop.</summary>
    protected abstract Task<bool> StillExistsAsync(string id, CancellationToken cancellationToken);

    /// <summary>Says in the store that this worker is alive and how many items it runs: at start and with every lease renewal.</summary>
    protected virtual Task ReportAsync(int runningItems, DateTimeOffset now, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>At shutdown, once every item has stopped: says in the store that this worker is gone.</summary>
    protected virtual Task WithdrawAsync() => Task.CompletedTask;

    /// <summary>How long a worker waits before claiming again after a claim failed (the store unreachable).</summary>
    public static readonly TimeSpan ClaimRetryInterval = TimeSpan.FromSeconds(5);

    /// <summary>How often the records of running items are looked at: a deletion elsewhere stops the work within this.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await RecoverAsync(stoppingToken);
        await ReportAsync(0, clock.GetUtcNow(), stoppingToken);
        var maintenance = Task.WhenAll(MaintainLeasesAsync(stoppingToken), WatchRecordsAsync(stoppingToken));
        using var free = new SemaphoreSlim(slots);
        var tasks = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await free.WaitAsync(stoppingToken);
                string id;
                try
                {
                    id = await ClaimNextAsync(() => leases.NewLease(clock.GetUtcNow()), stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The store out of reach for a moment must not end the worker: it claims again a little later.
                    free.Release();
                    logger.LogWarning(exception, "Claiming work failed; trying again in {Interval}", ClaimRetryInterval);
                    await Task.Delay(ClaimRetryInterval, clock, stoppingToken);
                    continue;
                }
                held[id] = 0;
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
                        held.TryRemove(id, out _);
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
        await maintenance;
        await WithdrawAsync();
    }

    /// <summary>
    /// Stops an item whose record was deleted by another server's API (this server's own API stops it
    /// directly): the store is how servers tell a worker to stop.
    /// </summary>
    private Task WatchRecordsAsync(CancellationToken stoppingToken)
        => RepeatAsync(WatchInterval, "Looking for deleted work", async () =>
        {
            foreach (var id in held.Keys)
            {
                if (!await StillExistsAsync(id, stoppingToken))
                {
                    logger.LogInformation("{Id} was deleted through another server; stopping it", id);
                    // Not awaited: one item's cleanup must not hold up noticing another's deletion.
                    _ = running.StopAsync(id, TimeSpan.FromMinutes(2));
                }
            }
        }, stoppingToken);

    /// <summary>Every renewal interval: renews the leases this worker holds, then ends others' expired ones.</summary>
    private Task MaintainLeasesAsync(CancellationToken stoppingToken)
        => RepeatAsync(leases.RenewInterval, "Renewing leases", async () =>
        {
            foreach (var id in held.Keys)
            {
                await RenewAsync(id, leases.NewLease(clock.GetUtcNow()), stoppingToken);
            }
            await ReportAsync(held.Count, clock.GetUtcNow(), stoppingToken);
            await EndExpiredAsync(clock.GetUtcNow(), stoppingToken);
        }, stoppingToken);

    /// <summary>
    /// Runs <paramref name="work"/> every <paramref name="interval"/> until the worker stops. A failed
    /// round (the store briefly unreachable) is logged and the next round tries again.
    /// </summary>
    private async Task RepeatAsync(TimeSpan interval, string what, Func<Task> work, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
                await work();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "{What} failed; trying again in {Interval}", what, interval);
            }
        }
    }
}
