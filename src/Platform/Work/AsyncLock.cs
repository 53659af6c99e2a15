namespace Cray.Platform.Work;

/// <summary>
/// One holder at a time, across awaits: for read-then-write sequences (a uniqueness check before an
/// insert, a record moved together with its files) that must not interleave with another.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim needs disposing only once its wait handle is used, which this one never is.")]
public sealed class AsyncLock
{
    private readonly SemaphoreSlim gate = new(1, 1);

    public async Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await work();
        }
        finally
        {
            gate.Release();
        }
    }

    public Task RunAsync(Func<Task> work, CancellationToken cancellationToken)
        => RunAsync(async () =>
        {
            await work();
            return true;
        }, cancellationToken);
}

/// <summary>One <see cref="AsyncLock"/> per name, made on first use.</summary>
public sealed class NamedLocks
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, AsyncLock> locks = new(StringComparer.Ordinal);

    public Task<T> RunAsync<T>(string name, Func<Task<T>> work, CancellationToken cancellationToken)
        => locks.GetOrAdd(name, _ => new AsyncLock()).RunAsync(work, cancellationToken);
}
