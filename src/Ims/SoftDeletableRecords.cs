using Cray.Ims.Api;
using Cray.Ims.Validation;
using Cray.Platform.Storage;

namespace Cray.Ims;

/// <summary>
/// A collection whose records a v3 delete moves to a deleted collection, undelete moves back and
/// purge or a v2 delete removes for good: the operations the API offers, run one writer at a time.
/// What a move does to the artifacts a record links is the collection's own.
/// </summary>
public abstract class SoftDeletableRecords<TRecord, TDeleted>(IRecordStore store, string collection, string deletedCollection)
    : IDeletedRecords<TDeleted>, IDeletableRecords
    where TRecord : class
    where TDeleted : class
{
    /// <summary>
    /// One writer of the collection at a time, on every server sharing the store: link uniqueness
    /// and record moves are read-then-write sequences.
    /// </summary>
    protected Task<T> ExclusivelyAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken)
        => store.ExclusiveAsync(collection, work, cancellationToken);

    protected Task ExclusivelyAsync(Func<Task> work, CancellationToken cancellationToken)
        => store.ExclusiveAsync(collection, async () =>
        {
            await work();
            return true;
        }, cancellationToken);

    protected IRecordStore Store => store;

    public Task<IReadOnlyList<TRecord>> ListAsync(CancellationToken cancellationToken)
        => store.ListAsync<TRecord>(collection, cancellationToken);

    public async Task<TRecord> GetAsync(string id, CancellationToken cancellationToken)
        => await store.GetAsync<TRecord>(collection, id, cancellationToken) ?? throw ImsProblems.NotFound();

    public Task<IReadOnlyList<TDeleted>> ListDeletedAsync(CancellationToken cancellationToken)
        => store.ListAsync<TDeleted>(deletedCollection, cancellationToken);

    public async Task<TDeleted> GetDeletedAsync(string id, CancellationToken cancellationToken)
        => await store.GetAsync<TDeleted>(deletedCollection, id, cancellationToken) ?? throw ImsProblems.NotFound();

    public Task SoftDeleteAsync(string id, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () => await SoftDeleteLockedAsync(await GetAsync(id, cancellationToken), cancellationToken), cancellationToken);

    public Task SoftDeleteAllAsync(CancellationToken cancellationToken)
        => ExclusivelyAsync(async () =>
        {
            foreach (var record in await ListAsync(cancellationToken))
            {
                await SoftDeleteLockedAsync(record, cancellationToken);
            }
        }, cancellationToken);

    public Task HardDeleteAsync(string id, bool cascade, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () => await HardDeleteLockedAsync(await GetAsync(id, cancellationToken), cascade, cancellationToken), cancellationToken);

    public Task HardDeleteAllAsync(bool cascade, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () => await HardDeleteAllLockedAsync(await ListAsync(cancellationToken), cascade, cancellationToken), cancellationToken);

    public Task UndeleteAsync(string id, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () => await UndeleteLockedAsync(await GetDeletedAsync(id, cancellationToken), cancellationToken), cancellationToken);

    public Task UndeleteAllAsync(CancellationToken cancellationToken)
        => ExclusivelyAsync(async () =>
        {
            foreach (var deleted in await ListDeletedAsync(cancellationToken))
            {
                await UndeleteLockedAsync(deleted, cancellationToken);
            }
        }, cancellationToken);

    public Task PurgeAsync(string id, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () => await PurgeLockedAsync(await GetDeletedAsync(id, cancellationToken), cancellationToken), cancellationToken);

    public Task PurgeAllAsync(CancellationToken cancellationToken)
        => ExclusivelyAsync(async () => await PurgeAllLockedAsync(await ListDeletedAsync(cancellationToken), cancellationToken), cancellationToken);

    /// <summary>Moves the record (and what it links) to the deleted collection; the collection's lock is held.</summary>
    protected abstract Task SoftDeleteLockedAsync(TRecord record, CancellationToken cancellationToken);

    /// <summary>Removes the record and, with <paramref name="cascade"/>, what it links; the collection's lock is held.</summary>
    protected abstract Task HardDeleteLockedAsync(TRecord record, bool cascade, CancellationToken cancellationToken);

    /// <summary>Moves a deleted record (and what it links) back; the collection's lock is held.</summary>
    protected abstract Task UndeleteLockedAsync(TDeleted deleted, CancellationToken cancellationToken);

    /// <summary>Removes a deleted record and what it links for good; the collection's lock is held.</summary>
    protected abstract Task PurgeLockedAsync(TDeleted deleted, CancellationToken cancellationToken);

    /// <summary>Each record in turn; a collection whose records link nothing removes them in one write.</summary>
    protected virtual async Task HardDeleteAllLockedAsync(IReadOnlyList<TRecord> records, bool cascade, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            await HardDeleteLockedAsync(record, cascade, cancellationToken);
        }
    }

    /// <summary>Each deleted record in turn; a collection whose records link nothing removes them in one write.</summary>
    protected virtual async Task PurgeAllLockedAsync(IReadOnlyList<TDeleted> deleted, CancellationToken cancellationToken)
    {
        foreach (var record in deleted)
        {
            await PurgeLockedAsync(record, cancellationToken);
        }
    }
}
