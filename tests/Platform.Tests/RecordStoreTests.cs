using System.Text.Json.Serialization;
using Cray.Platform.Storage;
using Cray.Tests.Support;

namespace Cray.Platform.Tests;

/// <summary>
/// What every record store promises (atomic batches and updates, orders, paging by id, its change
/// signal), checked against each implementation by a subclass.
/// </summary>
public abstract class RecordStoreContract
{
    protected abstract IRecordStore Store { get; }

    private IRecordStore store => Store;

    /// <summary>Another store on the same database, as a second server would open it.</summary>
    protected abstract Task<IRecordStore> OpenAnotherAsync();

    protected sealed record Counter(string Id, int Value);

    protected sealed record Work(string Id, string? TakenBy, bool Done) : IStagedRecord
    {
        [System.Text.Json.Serialization.JsonIgnore]
        public string? Stage => Done ? null : TakenBy is null ? RecordStages.Waiting : RecordStages.Running;
    }

    /// <summary>The same document as <see cref="Work"/>, from before the type had a stage.</summary>
    protected sealed record UnstagedWork(string Id, string? TakenBy, bool Done);

    private static async Task<List<string>> IdsInStageAsync(IRecordStore store, string stage)
        => await store.ListInStageAsync<Work>("work", stage).Select(work => work.Id).ToListAsync();

    [Fact]
    public async Task WorkUnderOneLockNeverOverlapsEvenFromAnotherStoreAndOtherLocksDoNotWait()
    {
        var other = await OpenAnotherAsync();
        var inside = 0;
        var most = 0;
        var gate = new object();
        async Task<bool> WorkAsync()
        {
            lock (gate)
            {
                most = Math.Max(most, ++inside);
            }
            await Task.Delay(15);
            lock (gate)
            {
                inside--;
            }
            return true;
        }
        await Task.WhenAll(Enumerable.Range(0, 12).Select(index => (index % 2 == 0 ? store : other).ExclusiveAsync("ims.images", WorkAsync)));
        Assert.Equal(1, most);

        var release = new TaskCompletionSource<bool>();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = store.ExclusiveAsync("ims.images", async () =>
        {
            entered.SetResult();
            return await release.Task;
        });
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await other.ExclusiveAsync("ims.recipes", () => Task.FromResult(true)).WaitAsync(TimeSpan.FromSeconds(10)));
        var waiting = other.ExclusiveAsync("ims.images", () => Task.FromResult(true));
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        release.SetResult(true);
        Assert.True(await holding);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        // A failure inside releases the lock.
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.ExclusiveAsync<bool>("ims.images", () => throw new InvalidOperationException("inside")));
        Assert.True(await other.ExclusiveAsync("ims.images", () => Task.FromResult(true)).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    protected sealed record Tagged(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("enabled")] bool Enabled,
        [property: JsonPropertyName("status")] TaggedStatus Status,
        [property: JsonPropertyName("tags")] Dictionary<string, string> Tags);

    protected sealed record TaggedStatus([property: JsonPropertyName("state")] string State, [property: JsonPropertyName("count")] int Count);

    [Fact]
    public async Task AScanLeavesOutDocumentsThatDoNotContainThePattern()
    {
        await store.WriteAsync(
        [
            RecordWrite.Insert("tagged", "a", new Tagged("a", true, new TaggedStatus("pending", 1), new() { ["team"] = "hpc", ["odd key \"q\""] = "x" })),
            RecordWrite.Insert("tagged", "b", new Tagged("b", false, new TaggedStatus("pending", 2), new() { ["team"] = "hpc" })),
            RecordWrite.Insert("tagged", "c", new Tagged("c", true, new TaggedStatus("complete", 3), new() { ["team"] = "storage" })),
            RecordWrite.Insert("tagged", "d", new Tagged("d", true, new TaggedStatus("pending", 4), new())),
        ]);
        async Task<List<string>> IdsAsync(System.Text.Json.Nodes.JsonObject pattern, string? afterId = null)
            => await store.ScanByIdAsync<Tagged>("tagged", afterId, pattern).Select(tagged => tagged.Id).ToListAsync();

        Assert.Equal(["a", "b", "d"], await IdsAsync(new() { ["status"] = new System.Text.Json.Nodes.JsonObject { ["state"] = "pending" } }));
        Assert.Equal(["a", "d"], await IdsAsync(new() { ["status"] = new System.Text.Json.Nodes.JsonObject { ["state"] = "pending" }, ["enabled"] = true }));
        Assert.Equal(["b"], await IdsAsync(new() { ["enabled"] = false }));
        Assert.Equal(["a", "b"], await IdsAsync(new() { ["tags"] = new System.Text.Json.Nodes.JsonObject { ["team"] = "hpc" } }));
        Assert.Equal(["b"], await IdsAsync(new() { ["tags"] = new System.Text.Json.Nodes.JsonObject { ["team"] = "hpc" } }, afterId: "a"));
        Assert.Empty(await IdsAsync(new() { ["tags"] = new System.Text.Json.Nodes.JsonObject { ["team"] = "nobody" } }));
        // A pattern part a store cannot express may be passed over, never wrongly applied: "a" is among the results.
        Assert.Contains("a", await IdsAsync(new() { ["tags"] = new System.Text.Json.Nodes.JsonObject { ["odd key \"q\""] = "x" } }));
    }

    [Fact]
    public async Task AStageFollowsEveryWriteAndListsReadOnlyThatStage()
    {
        await store.WriteAsync(
        [
            RecordWrite.Insert("work", "a", new Work("a", null, false)),
            RecordWrite.Insert("work", "b", new Work("b", null, false)),
            RecordWrite.Insert("work", "c", new Work("c", null, false)),
            RecordWrite.Insert("other", "a", new Work("a", null, false)),
        ]);
        await store.UpdateAsync<Work>("work", "b", work => work with { TakenBy = "me" });
        await store.WriteAsync(RecordWrite.Upsert("work", "c", new Work("c", "me", true)));

        Assert.Equal(["a"], await IdsInStageAsync(store, RecordStages.Waiting));
        Assert.Equal(["b"], await IdsInStageAsync(store, RecordStages.Running));
        await store.WriteAsync(RecordWrite.Delete("work", "a"));
        Assert.Empty(await IdsInStageAsync(store, RecordStages.Waiting));
    }

    [Fact]
    public async Task AClaimTakesTheOldestRecordItAcceptsAndSignalsTheChange()
    {
        foreach (var id in new[] { "z", "y", "x" })
        {
            await store.WriteAsync(RecordWrite.Insert("work", id, new Work(id, null, false)));
        }
        var signal = store.NextChangeAsync("work");
        var claimed = await store.ClaimAsync<Work>("work", RecordStages.Waiting, work => work.Id == "z" ? null : work with { TakenBy = "me" });
        Assert.Equal("y", claimed!.Id);
        Assert.True(signal.IsCompleted);
        Assert.Equal("me", (await store.GetAsync<Work>("work", "y"))!.TakenBy);
        Assert.Equal(["z", "x"], await IdsInStageAsync(store, RecordStages.Waiting));
        Assert.Null(await store.ClaimAsync<Work>("work", RecordStages.Waiting, _ => null));
        Assert.Null(await store.ClaimAsync<Work>("nothing", RecordStages.Waiting, work => work with { TakenBy = "me" }));
    }

    [Fact]
    public async Task ClaimersOnTwoServersNeverTakeOneRecordTwice()
    {
        var ids = Enumerable.Range(0, 30).Select(index => $"w{index:D2}").ToList();
        await store.WriteAsync(ids.Select(id => RecordWrite.Insert("work", id, new Work(id, null, false))).ToList());
        var other = await OpenAnotherAsync();
        try
        {
            var claims = await Task.WhenAll(Enumerable.Range(0, 6).Select(claimer => Task.Run(async () =>
            {
                var taken = new List<string>();
                var claimerStore = claimer % 2 == 0 ? store : other;
                while (await claimerStore.ClaimAsync<Work>("work", RecordStages.Waiting,
                    work => work.TakenBy is null ? work with { TakenBy = $"claimer {claimer}" } : null) is { } work)
                {
                    taken.Add(work.Id);
                }
                return taken;
            })));
            var all = claims.SelectMany(taken => taken).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(ids, all);
            foreach (var (taken, claimer) in claims.Select((taken, claimer) => (taken, claimer)))
            {
                foreach (var id in taken)
                {
                    Assert.Equal($"claimer {claimer}", (await store.GetAsync<Work>("work", id))!.TakenBy);
                }
            }
        }
        finally
        {
            await ((other as IAsyncDisposable)?.DisposeAsync() ?? ValueTask.CompletedTask);
        }
    }

    [Fact]
    public async Task RestagingGivesRecordsStoredWithoutAStageTheirStage()
    {
        await store.WriteAsync(
        [
            RecordWrite.Insert("work", "old", new UnstagedWork("old", null, false)),
            RecordWrite.Insert("work", "taken", new UnstagedWork("taken", "someone", false)),
            RecordWrite.Insert("work", "done", new UnstagedWork("done", "someone", true)),
        ]);
        Assert.Empty(await IdsInStageAsync(store, RecordStages.Waiting));

        await store.RestageAsync<Work>("work");
        Assert.Equal(["old"], await IdsInStageAsync(store, RecordStages.Waiting));
        Assert.Equal(["taken"], await IdsInStageAsync(store, RecordStages.Running));
        Assert.Equal("old", (await store.ClaimAsync<Work>("work", RecordStages.Waiting, work => work with { TakenBy = "me" }))!.Id);
    }

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
    public async Task ALongScanReturnsEveryRecordOnceInOrder()
    {
        var ids = Enumerable.Range(0, 600).Select(index => $"r{index:D4}").ToList();
        await store.WriteAsync(ids.AsEnumerable().Reverse().Select(id => RecordWrite.Insert("many", id, new Counter(id, 0))).ToList());
        var all = new List<string>();
        await foreach (var counter in store.ScanByIdAsync<Counter>("many"))
        {
            all.Add(counter.Id);
        }
        Assert.Equal(ids, all);
        var rest = new List<string>();
        await foreach (var counter in store.ScanByIdAsync<Counter>("many", afterId: "r0299"))
        {
            rest.Add(counter.Id);
        }
        Assert.Equal(ids[300..], rest);
    }

    [Fact]
    public async Task IdsPageInByteOrder()
    {
        // Upper case before lower case and digits before both: ordinal order, whatever the database's locale.
        foreach (var id in new[] { "b", "B", "a", "1", "_", "é" })
        {
            await store.WriteAsync(RecordWrite.Insert("ordered", id, new Counter(id, 0)));
        }
        var ids = new List<string>();
        await foreach (var counter in store.ScanByIdAsync<Counter>("ordered"))
        {
            ids.Add(counter.Id);
        }
        Assert.Equal(["1", "B", "_", "a", "b", "é"], ids);
    }
}

/// <summary>The record store on SQLite.</summary>
public sealed class SqliteRecordStoreTests : RecordStoreContract, IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("record-store-").FullName;
    private readonly SqliteRecordStore sqlite;

    public SqliteRecordStoreTests() => sqlite = new SqliteRecordStore(Path.Combine(directory, "cray.db"));

    protected override IRecordStore Store => sqlite;

    protected override Task<IRecordStore> OpenAnotherAsync() => Task.FromResult<IRecordStore>(new SqliteRecordStore(Path.Combine(directory, "cray.db")));

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task ReopeningKeepsRecordsAndTheSchemaVersion()
    {
        await sqlite.WriteAsync(RecordWrite.Insert("counters", "a", new Counter("a", 7)));
        var reopened = new SqliteRecordStore(Path.Combine(directory, "cray.db"));
        Assert.Equal(SqliteRecordStore.LatestSchemaVersion, reopened.SchemaVersion);
        Assert.Equal(7, (await reopened.GetAsync<Counter>("counters", "a"))!.Value);
    }
}

/// <summary>The record store on PostgreSQL: a database of its own per test on a private server.</summary>
public sealed class PostgresRecordStoreTests(PostgresTestServer server) : RecordStoreContract, IClassFixture<PostgresTestServer>, IAsyncLifetime
{
    private PostgresRecordStore? postgres;
    private string connectionString = "";

    protected override IRecordStore Store => postgres!;

    protected override async Task<IRecordStore> OpenAnotherAsync() => await PostgresRecordStore.OpenAsync(connectionString);

    public async Task InitializeAsync()
    {
        connectionString = await server.CreateDatabaseAsync();
        postgres = await PostgresRecordStore.OpenAsync(connectionString);
    }

    public async Task DisposeAsync() => await postgres!.DisposeAsync();

    [Fact]
    public async Task ReopeningKeepsRecordsAndTheSchemaVersion()
    {
        await postgres!.WriteAsync(RecordWrite.Insert("counters", "a", new Counter("a", 7)));
        await using var reopened = await PostgresRecordStore.OpenAsync(connectionString);
        Assert.Equal(PostgresRecordStore.LatestSchemaVersion, await reopened.SchemaVersionAsync());
        Assert.Equal(7, (await reopened.GetAsync<Counter>("counters", "a"))!.Value);
    }

    [Fact]
    public async Task ServersStartingTogetherMigrateOnce()
    {
        var other = await server.CreateDatabaseAsync();
        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresRecordStore.OpenAsync(other)));
        foreach (var store in stores)
        {
            Assert.Equal(PostgresRecordStore.LatestSchemaVersion, await store.SchemaVersionAsync());
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task UpdatesFromTwoServersNeverLoseOne()
    {
        await using var second = await PostgresRecordStore.OpenAsync(connectionString);
        var first = postgres!;
        await first.WriteAsync(RecordWrite.Insert("counters", "shared", new Counter("shared", 0)));
        await Task.WhenAll(Enumerable.Range(0, 20).Select(index => Task.Run(() =>
            (index % 2 == 0 ? first : second).UpdateAsync<Counter>("counters", "shared", current => current with { Value = current.Value + 1 }))));
        Assert.Equal(20, (await second.GetAsync<Counter>("counters", "shared"))!.Value);
    }

    [Fact]
    public async Task AWriteThroughAnotherServerWakesThisServersWaitersOfThatCollectionOnly()
    {
        await using var second = await PostgresRecordStore.OpenAsync(connectionString);
        // This store's listener starts as it opens: it is up once it hears a write of the other's.
        var heard = postgres!.NextChangeAsync("warmup");
        for (var attempt = 0; !heard.IsCompleted; attempt++)
        {
            Assert.True(attempt < 50, "the listener never heard the other store");
            await second.WriteAsync(RecordWrite.Upsert("warmup", "w", new Counter("w", attempt)));
            await Task.WhenAny(heard, Task.Delay(200));
        }

        var jobs = postgres.NextChangeAsync("ims.jobs");
        var sessions = postgres.NextChangeAsync("cfs.sessions");
        await second.WriteAsync(RecordWrite.Insert("ims.jobs", "j1", new Counter("j1", 1)));
        await jobs.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.False(sessions.IsCompleted);

        var updated = postgres.NextChangeAsync("ims.jobs");
        await second.UpdateAsync<Counter>("ims.jobs", "j1", current => current with { Value = 2 });
        await updated.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
