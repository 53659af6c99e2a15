namespace Cray.Platform.Storage;

/// <summary>
/// The one persistence boundary every service module uses. Records are JSON documents grouped in
/// named collections and listed in insertion order; writes are applied atomically as a batch so a
/// move between collections (soft delete) never leaves a record in both or neither. The shape is
/// kept this narrow so that a PostgreSQL implementation can be added without touching handlers.
/// </summary>
public interface IRecordStore
{
    Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class;

    Task<IReadOnlyList<T>> ListAsync<T>(string collection, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams a collection's records in ordinal order of their ids, starting after
    /// <paramref name="afterId"/> (exclusive; it need not exist). Paging reads only what it shows.
    /// </summary>
    IAsyncEnumerable<T> ScanByIdAsync<T>(string collection, string? afterId = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a record and writes back what <paramref name="change"/> makes of it, as one atomic step
    /// that no other writer (in this process or another) can interleave with. Returns the stored
    /// result, or null when the record does not exist or <paramref name="change"/> returns null (no change).
    /// </summary>
    Task<T?> UpdateAsync<T>(string collection, string id, Func<T, T?> change, CancellationToken cancellationToken = default) where T : class;

    /// <summary>Applies every write or none. Throws <see cref="RecordConflictException"/> when an insert finds its id taken.</summary>
    Task WriteAsync(IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes at the next write this store commits to the collection. Writers in other processes
    /// sharing the database do not complete it, so wait on it with a bound and read again.
    /// </summary>
    Task NextChangeAsync(string collection);
}

public enum RecordWriteKind
{
    Insert,
    Upsert,
    Delete,
}

public sealed record RecordWrite(RecordWriteKind Kind, string Collection, string Id, object? Record)
{
    public static RecordWrite Insert(string collection, string id, object record) => new(RecordWriteKind.Insert, collection, id, record);

    public static RecordWrite Upsert(string collection, string id, object record) => new(RecordWriteKind.Upsert, collection, id, record);

    public static RecordWrite Delete(string collection, string id) => new(RecordWriteKind.Delete, collection, id, null);
}

public sealed class RecordConflictException(string collection, string id)
    : Exception($"A record with id '{id}' already exists in '{collection}'.");

public static class RecordStoreExtensions
{
    public static Task WriteAsync(this IRecordStore store, RecordWrite write, CancellationToken cancellationToken = default)
        => store.WriteAsync([write], cancellationToken);
}
