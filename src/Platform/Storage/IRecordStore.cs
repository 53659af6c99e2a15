using System.Text.Json.Nodes;

namespace Cray.Platform.Storage;

/// <summary>
/// The one persistence boundary every service module uses. Records are JSON documents grouped in
/// named collections and listed in insertion order; writes are applied atomically as a batch so a
/// move between collections (soft delete) never leaves a record in both or neither. The shape is
/// kept this narrow so that a PostgreSQL implementation can be added without touching handlers.
/// </summary>
public interface IRecordStore
{
    /// <summary>True when servers on other machines may use the same store (PostgreSQL), so what one writes to local files the others cannot see.</summary>
    bool IsSharedBetweenMachines { get; }

    Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class;

    Task<IReadOnlyList<T>> ListAsync<T>(string collection, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams a collection's records in ordinal order of their ids, starting after
    /// <paramref name="afterId"/> (exclusive; it need not exist). Paging reads only what it shows.
    /// With <paramref name="containing"/>, the database leaves out records whose document does not
    /// contain it (its string and boolean values at the same places): a filter the caller may
    /// still refine, since a store may pass over parts of the pattern it cannot express.
    /// </summary>
    IAsyncEnumerable<T> ScanByIdAsync<T>(string collection, string? afterId = null, JsonObject? containing = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a record and writes back what <paramref name="change"/> makes of it, as one atomic step
    /// that no other writer (in this process or another) can interleave with. Returns the stored
    /// result, or null when the record does not exist or <paramref name="change"/> returns null (no change).
    /// </summary>
    Task<T?> UpdateAsync<T>(string collection, string id, Func<T, T?> change, CancellationToken cancellationToken = default) where T : class;

    /// <summary>
    /// The collection's records whose <see cref="IStagedRecord.Stage"/> is <paramref name="stage"/>,
    /// in insertion order. An index on the stage makes this read only those records.
    /// </summary>
    IAsyncEnumerable<T> ListInStageAsync<T>(string collection, string stage, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the oldest record in <paramref name="stage"/> that <paramref name="change"/> accepts
    /// (returns non-null for) and stores the change, as one atomic step: two claimers, in this
    /// process or on other servers, never take the same record. Returns the stored result, or null
    /// when no record in the stage was accepted.
    /// </summary>
    Task<T?> ClaimAsync<T>(string collection, string stage, Func<T, T?> change, CancellationToken cancellationToken = default) where T : class;

    /// <summary>
    /// Recomputes the stage column of every record of the collection (read as <typeparamref name="T"/>):
    /// for records stored before their type had a stage, or by an older server.
    /// </summary>
    Task RestageAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class;

    /// <summary>
    /// Runs <paramref name="work"/> while no other holder of the lock <paramref name="name"/> runs it,
    /// in this process or, on a store shared between machines, on any server: for read-then-write
    /// sequences (a uniqueness check before an insert, a record moved with its files). A holder's
    /// lock ends with its connection, so a server that dies holding one does not block the others.
    /// </summary>
    Task<T> ExclusiveAsync<T>(string name, Func<Task<T>> work, CancellationToken cancellationToken = default);

    /// <summary>Applies every write or none. Throws <see cref="RecordConflictException"/> when an insert finds its id taken.</summary>
    Task WriteAsync(IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes at the next write committed to the collection: by this store, and on a store shared
    /// between machines by any server. A notification can be lost (a dropped connection), so wait on
    /// it with a bound and read again.
    /// </summary>
    Task NextChangeAsync(string collection);
}

/// <summary>
/// A record that moves through a queue (waiting for a worker, running, done): the store keeps its
/// stage in an indexed column of its own, so finding and claiming work reads only the records in
/// that stage rather than the whole collection.
/// </summary>
public interface IStagedRecord
{
    /// <summary>Null when the record is in no queue any more (finished).</summary>
    string? Stage { get; }
}

/// <summary>The stages the workers use.</summary>
public static class RecordStages
{
    /// <summary>Created and not yet taken by a worker.</summary>
    public const string Waiting = "waiting";

    /// <summary>Taken by a worker and not finished.</summary>
    public const string Running = "running";
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
