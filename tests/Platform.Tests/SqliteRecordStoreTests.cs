using Cray.Platform.Storage;

namespace Cray.Platform.Tests;

/// <summary>The record store on SQLite: atomic batches and updates, orders, paging, and its change signal.</summary>
public sealed class SqliteRecordStoreTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("record-store-").FullName;
    private readonly SqliteRecordStore store;

    public SqliteRecordStoreTests() => store = new SqliteRecordStore(Path.Combine(directory, "cray.db"));

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private sealed record Counter(string Id, int Value);

    [Fact]
    public async Task ABatchWithAConflictWritesNothing()
    {
        await store.WriteAsync(RecordWrite.Insert("counters", "a", new Counter("a", 1)));
        await Assert.ThrowsAsync<RecordConflictException>(() => store.WriteAsync(
        [
            RecordWrite.Insert("counters", "b", new Counter("b", 1)),
            RecordWrite.Upsert("counters", "c", new Counter("c", 1)),
            RecordWrite.Insert("counters", "a", new Counter("a", 2)),
        ]));
        Assert.Null(await store.GetAsync<Counter>("counters", "b"));
        Assert.Null(await store.GetAsync<Counter>("counters", "c"));
        Assert.Equal(1, (await store.GetAsync<Counter>("counters", "a"))!.Value);
    }

    [Fact]
    public async Task ConcurrentUpdatesNeverLoseOne()
    {
        await store.WriteAsync(RecordWrite.Insert("counters", "shared", new Counter("shared", 0)));
        await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => Task.Run(() =>
            store.UpdateAsync<Counter>("counters", "shared", current => current with { Value = current.Value + 1 }))));
        Assert.Equal(25, (await store.GetAsync<Counter>("counters", "shared"))!.Value);
    }

    [Fact]
    public async Task AnUpdateOfNothingOrToNothingWritesNothing()
    {
        Assert.Null(await store.UpdateAsync<Counter>("counters", "missing", current => current with { Value = 9 }));
        await store.WriteAsync(RecordWrite.Insert("counters", "kept", new Counter("kept", 1)));
        var signal = store.NextChangeAsync("counters");
        Assert.Null(await store.UpdateAsync<Counter>("counters", "kept", _ => null));
        Assert.False(signal.IsCompleted);
        Assert.Equal(1, (await store.GetAsync<Counter>("counters", "kept"))!.Value);
    }

    [Fact]
    public async Task ListsKeepInsertionOrderAndScansGoByIdAfterACursor()
    {
        foreach (var id in new[] { "m", "b", "z", "a" })
        {
            await store.WriteAsync(RecordWrite.Insert("letters", id, new Counter(id, 0)));
        }
        await store.WriteAsync(RecordWrite.Upsert("letters", "b", new Counter("b", 5)));
        Assert.Equal(["m", "b", "z", "a"], (await store.ListAsync<Counter>("letters")).Select(counter => counter.Id));
        Assert.Equal(5, (await store.ListAsync<Counter>("letters"))[1].Value);

        var afterB = new List<string>();
        await foreach (var counter in store.ScanByIdAsync<Counter>("letters", afterId: "b"))
        {
            afterB.Add(counter.Id);
        }
        Assert.Equal(["m", "z"], afterB);
    }

    [Fact]
    public async Task TheChangeSignalFiresForItsCollectionOnly()
    {
        var jobs = store.NextChangeAsync("jobs");
        await store.WriteAsync(RecordWrite.Insert("sessions", "s", new Counter("s", 0)));
        Assert.False(jobs.IsCompleted);
        await store.WriteAsync(RecordWrite.Insert("jobs", "j", new Counter("j", 0)));
        Assert.True(jobs.IsCompleted);

        var next = store.NextChangeAsync("jobs");
        Assert.False(next.IsCompleted);
        await store.UpdateAsync<Counter>("jobs", "j", current => current with { Value = 1 });
        Assert.True(next.IsCompleted);
    }

    [Fact]
    public async Task ReopeningKeepsRecordsAndTheSchemaVersion()
    {
        await store.WriteAsync(RecordWrite.Insert("counters", "a", new Counter("a", 7)));
        var reopened = new SqliteRecordStore(Path.Combine(directory, "cray.db"));
        Assert.Equal(SqliteRecordStore.LatestSchemaVersion, reopened.SchemaVersion);
        Assert.Equal(7, (await reopened.GetAsync<Counter>("counters", "a"))!.Value);
    }
}
