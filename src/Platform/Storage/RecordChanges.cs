using System.Collections.Concurrent;

namespace Cray.Platform.Storage;

/// <summary>Wakes whoever waits on a collection when a write to it is committed (by this process, or by another one the store hears of).</summary>
public sealed class RecordChanges
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> waiting = new(StringComparer.Ordinal);

    /// <summary>Completes at the collection's next committed write. Take it before reading, so a write between the read and the wait is not missed.</summary>
    public Task Next(string collection)
        => waiting.GetOrAdd(collection, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Wakes every waiter, of every collection: when writes may have been missed.</summary>
    public void SignalAll() => Signal(waiting.Keys.ToList());

    public void Signal(IEnumerable<string> collections)
    {
        foreach (var collection in collections.Distinct(StringComparer.Ordinal))
        {
            if (waiting.TryRemove(collection, out var next))
            {
                next.TrySetResult();
            }
        }
    }
}
