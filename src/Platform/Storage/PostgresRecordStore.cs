using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace Cray.Platform.Storage;

/// <summary>
/// PostgreSQL: documents as <c>jsonb</c>, ids in byte order (<c>COLLATE "C"</c>) so that paging by
/// id matches SQLite's, and each collection's records in insertion order through a sequence.
/// Several servers may share the database: schema changes are applied by one of them at a time
/// (an advisory lock), and an update holds the record's row lock from its read to its write.
/// </summary>
public sealed class PostgresRecordStore : IRecordStore, IAsyncDisposable
{
    /// <summary>Schema migrations in order; the table cray_schema_migrations records those applied.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE cray_records (
            sequence   bigint GENERATED ALWAYS AS IDENTITY,
            collection text COLLATE "C" NOT NULL,
            id         text COLLATE "C" NOT NULL,
            body       jsonb NOT NULL,
            PRIMARY KEY (collection, id)
        );
        CREATE INDEX cray_records_by_sequence ON cray_records (collection, sequence);
        """,
        """
        ALTER TABLE cray_records ADD COLUMN stage text COLLATE "C";
        CREATE INDEX cray_records_by_stage ON cray_records (collection, stage, sequence) WHERE stage IS NOT NULL;
        """,
        """
        CREATE INDEX cray_records_by_content ON cray_records USING gin (body jsonb_path_ops);
        """,
    ];

    /// <summary>Candidates a claim locks at once; the first that the claimer accepts is taken, the others released at commit.</summary>
    private const int ClaimCandidates = 64;

    /// <summary>The advisory lock key that makes one server at a time migrate ("cray" in ASCII).</summary>
    private const long MigrationLock = 0x63726179;

    private const string UniqueViolation = "23505";

    /// <summary>Rows a scan reads at a time: a page of the API (at most 1,000 with the default page size) in one or a few reads.</summary>
    private const int ScanBatch = 250;

    /// <summary>The notification channel every commit names its collections on, so that every server's waiters wake.</summary>
    private const string ChangeChannel = "cray_records";

    private readonly NpgsqlDataSource dataSource;
    private readonly RecordChanges changes = new();
    private readonly CancellationTokenSource listening = new();
    private readonly Work.NamedLocks localLocks = new();

    /// <summary>Names this store in its notifications: it signals its own writes at once, so its listener skips their echo.</summary>
    private readonly string instance = Guid.NewGuid().ToString("N");
    private Task listener = Task.CompletedTask;

    private PostgresRecordStore(NpgsqlDataSource dataSource) => this.dataSource = dataSource;

    /// <summary>Opens the database and brings its schema up to date.</summary>
    public static async Task<PostgresRecordStore> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var store = new PostgresRecordStore(NpgsqlDataSource.Create(connectionString));
        try
        {
            await store.MigrateAsync(cancellationToken);
            store.listener = store.ListenAsync(store.listening.Token);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    public static int LatestSchemaVersion => Migrations.Length;

    public bool IsSharedBetweenMachines => true;

    public async ValueTask DisposeAsync()
    {
        await listening.CancelAsync();
        await listener;
        listening.Dispose();
        await dataSource.DisposeAsync();
    }

    /// <summary>Completes at the next write to the collection committed by any server on the database (LISTEN/NOTIFY).</summary>
    public Task NextChangeAsync(string collection) => changes.Next(collection);

    /// <summary>
    /// Holds one connection that LISTENs on the change channel and wakes this process's waiters for
    /// every collection another server (or this one) commits to; reconnects after a lost connection,
    /// waking every waiter once, since changes made meanwhile were not heard.
    /// </summary>
    private async Task ListenAsync(CancellationToken stopping)
    {
        var reconnecting = false;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stopping);
                connection.Notification += (_, notification) =>
                {
                    var separator = notification.Payload.IndexOf(':', StringComparison.Ordinal);
                    if (separator > 0 && notification.Payload[..separator] != instance)
                    {
                        changes.Signal([notification.Payload[(separator + 1)..]]);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {ChangeChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stopping);
                }
                if (reconnecting)
                {
                    changes.SignalAll();
                }
                reconnecting = true;
                while (true)
                {
                    await connection.WaitAsync(stopping);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // The database went away for a moment (or anything else broke the connection): waiters
                // still wake at their own bound; listen again shortly rather than never.
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stopping);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Tells every server's listener, at this transaction's commit, which collections it wrote.</summary>
    private async Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<string> collections, CancellationToken cancellationToken)
    {
        await using var notify = new NpgsqlCommand($"SELECT pg_notify('{ChangeChannel}', $2 || ':' || collection) FROM unnest($1::text[]) AS collection", connection, transaction);
        notify.Parameters.Add(new NpgsqlParameter { Value = collections.Distinct(StringComparer.Ordinal).ToArray() });
        notify.Parameters.Add(new NpgsqlParameter { Value = instance });
        await notify.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> SchemaVersionAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM cray_schema_migrations");
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
    }

    public async Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class
    {
        await using var command = dataSource.CreateCommand("SELECT body::text FROM cray_records WHERE collection = $1 AND id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = collection });
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        var body = (string?)await command.ExecuteScalarAsync(cancellationToken);
        return body is null ? null : RecordDocuments.Deserialize<T>(body);
    }

    public async Task<IReadOnlyList<T>> ListAsync<T>(string collection, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT body::text FROM cray_records WHERE collection = $1 ORDER BY sequence");
        command.Parameters.Add(new NpgsqlParameter { Value = collection });
        return await RecordDocuments.ReadAllAsync<T>(command, cancellationToken);
    }

    public async IAsyncEnumerable<T> ScanByIdAsync<T>(string collection, string? afterId = null, JsonObject? containing = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // In batches from the last id seen: a caller that stops after a page has read only that far
        // (a reader left open would make the driver drain every remaining row on the wire).
        var last = afterId;
        while (true)
        {
            // The batch is chosen before its documents become text: whatever plan the database picks
            // (a sort of every later row, before statistics exist), only the batch's rows are converted.
            // Containment (@>) is answered from the GIN index on the documents.
            var conditions = (containing is null ? "" : " AND body @> $3") + (last is null ? "" : $" AND id > ${(containing is null ? 3 : 4)}");
            await using var command = dataSource.CreateCommand(
                $"SELECT id, body::text FROM (SELECT id, body FROM cray_records WHERE collection = $1{conditions} ORDER BY id LIMIT $2) AS batch ORDER BY id");
            command.Parameters.Add(new NpgsqlParameter { Value = collection });
            command.Parameters.Add(new NpgsqlParameter { Value = ScanBatch });
            if (containing is not null)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = containing.ToJsonString(), NpgsqlDbType = NpgsqlDbType.Jsonb });
            }
            if (last is not null)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = last });
            }
            var batch = await RecordDocuments.ReadIdsAndBodiesAsync(command, cancellationToken);
            foreach (var (id, body) in batch)
            {
                last = id;
                yield return RecordDocuments.Deserialize<T>(body);
            }
            if (batch.Count < ScanBatch)
            {
                yield break;
            }
        }
    }

    public async Task<T?> UpdateAsync<T>(string collection, string id, Func<T, T?> change, CancellationToken cancellationToken = default) where T : class
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // FOR UPDATE holds the row from this read to the commit, so no other writer (here or on another server) interleaves.
        await using var read = new NpgsqlCommand("SELECT body::text FROM cray_records WHERE collection = $1 AND id = $2 FOR UPDATE", connection, transaction);
        read.Parameters.Add(new NpgsqlParameter { Value = collection });
        read.Parameters.Add(new NpgsqlParameter { Value = id });
        var body = (string?)await read.ExecuteScalarAsync(cancellationToken);
        var changed = body is null ? null : change(RecordDocuments.Deserialize<T>(body));
        if (changed is null)
        {
            await transaction.RollbackAsync(CancellationToken.None);
            return null;
        }
        await WriteBackAsync(connection, transaction, collection, id, changed, cancellationToken);
        await NotifyAsync(connection, transaction, [collection], cancellationToken);
        await transaction.CommitAsync(CancellationToken.None);
        changes.Signal([collection]);
        return changed;
    }

    public async IAsyncEnumerable<T> ListInStageAsync<T>(string collection, string stage,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT body::text FROM cray_records WHERE collection = $1 AND stage = $2 ORDER BY sequence");
        command.Parameters.Add(new NpgsqlParameter { Value = collection });
        command.Parameters.Add(new NpgsqlParameter { Value = stage });
        foreach (var record in await RecordDocuments.ReadAllAsync<T>(command, cancellationToken))
        {
            yield return record;
        }
    }

    public async Task<T?> ClaimAsync<T>(string collection, string stage, Func<T, T?> change, CancellationToken cancellationToken = default) where T : class
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // SKIP LOCKED: rows another claimer holds are passed over rather than waited for, so claimers on
        // several servers each take a different record and none blocks on another.
        await using var read = new NpgsqlCommand(
            $"SELECT id, body::text FROM cray_records WHERE collection = $1 AND stage = $2 ORDER BY sequence LIMIT {ClaimCandidates} FOR UPDATE SKIP LOCKED",
            connection, transaction);
        read.Parameters.Add(new NpgsqlParameter { Value = collection });
        read.Parameters.Add(new NpgsqlParameter { Value = stage });
        foreach (var (id, body) in await RecordDocuments.ReadIdsAndBodiesAsync(read, cancellationToken))
        {
            if (change(RecordDocuments.Deserialize<T>(body)) is { } claimed)
            {
                await WriteBackAsync(connection, transaction, collection, id, claimed, cancellationToken);
                await NotifyAsync(connection, transaction, [collection], cancellationToken);
                await transaction.CommitAsync(CancellationToken.None);
                changes.Signal([collection]);
                return claimed;
            }
        }
        await transaction.RollbackAsync(CancellationToken.None);
        return null;
    }

    public async Task RestageAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class
    {
        var stale = new List<(string Id, string Body, object Stage)>();
        await using (var read = dataSource.CreateCommand("SELECT id, body::text, stage FROM cray_records WHERE collection = $1"))
        {
            read.Parameters.Add(new NpgsqlParameter { Value = collection });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var stage = RecordDocuments.StageOf(RecordDocuments.Deserialize<T>(reader.GetString(1)));
                if (!Equals(stage, reader.GetValue(2)))
                {
                    stale.Add((reader.GetString(0), reader.GetString(1), stage));
                }
            }
        }
        foreach (var (id, body, stage) in stale)
        {
            // Only if the document is still the one read: a record changed meanwhile has its stage written by that change.
            await using var write = dataSource.CreateCommand("UPDATE cray_records SET stage = $3 WHERE collection = $1 AND id = $2 AND body = $4");
            write.Parameters.Add(new NpgsqlParameter { Value = collection });
            write.Parameters.Add(new NpgsqlParameter { Value = id });
            write.Parameters.Add(new NpgsqlParameter { Value = stage, NpgsqlDbType = NpgsqlDbType.Text });
            write.Parameters.Add(new NpgsqlParameter { Value = body, NpgsqlDbType = NpgsqlDbType.Jsonb });
            await write.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task WriteBackAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string collection, string id, object record, CancellationToken cancellationToken)
    {
        await using var write = new NpgsqlCommand("UPDATE cray_records SET body = $3, stage = $4 WHERE collection = $1 AND id = $2", connection, transaction);
        write.Parameters.Add(new NpgsqlParameter { Value = collection });
        write.Parameters.Add(new NpgsqlParameter { Value = id });
        write.Parameters.Add(Body(record));
        write.Parameters.Add(Stage(record));
        await write.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task WriteAsync(IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var write in writes)
        {
            await using var command = new NpgsqlCommand(write.Kind switch
            {
                RecordWriteKind.Insert => "INSERT INTO cray_records (collection, id, body, stage) VALUES ($1, $2, $3, $4)",
                // An update keeps the record's place in its collection's order.
                RecordWriteKind.Upsert => "INSERT INTO cray_records (collection, id, body, stage) VALUES ($1, $2, $3, $4) ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body, stage = excluded.stage",
                _ => "DELETE FROM cray_records WHERE collection = $1 AND id = $2",
            }, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = write.Collection });
            command.Parameters.Add(new NpgsqlParameter { Value = write.Id });
            if (write.Kind != RecordWriteKind.Delete)
            {
                command.Parameters.Add(Body(write.Record));
                command.Parameters.Add(Stage(write.Record));
            }
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException exception) when (exception.SqlState == UniqueViolation && write.Kind == RecordWriteKind.Insert)
            {
                throw new RecordConflictException(write.Collection, write.Id);
            }
        }
        await NotifyAsync(connection, transaction, writes.Select(write => write.Collection), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        changes.Signal(writes.Select(write => write.Collection));
    }

    private static NpgsqlParameter Body(object? record) => new()
    {
        NpgsqlDbType = NpgsqlDbType.Jsonb,
        Value = RecordDocuments.Serialize(record),
    };

    private static NpgsqlParameter Stage(object? record) => new()
    {
        NpgsqlDbType = NpgsqlDbType.Text,
        Value = RecordDocuments.StageOf(record),
    };

    public Task<T> ExclusiveAsync<T>(string name, Func<Task<T>> work, CancellationToken cancellationToken = default)
        // This process's callers queue in memory first: one pooled connection per name waits on the
        // database's lock, not one per caller (which could take the whole pool from the work itself).
        => localLocks.RunAsync(name, async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            return await WithAdvisoryLockAsync(connection, LockKey(name), work, cancellationToken);
        }, cancellationToken);

    /// <summary>A name's advisory lock key: 64 bits of its hash, apart from the migration lock's small key.</summary>
    private static long LockKey(string name)
        => System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("cray-lock:" + name)));

    /// <summary>
    /// A session-level advisory lock on <paramref name="connection"/> around <paramref name="work"/>
    /// (which may use other connections): PostgreSQL releases it if the holder's connection dies.
    /// </summary>
    private static async Task<T> WithAdvisoryLockAsync<T>(NpgsqlConnection connection, long key, Func<Task<T>> work, CancellationToken cancellationToken)
    {
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = key });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            return await work();
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
            unlock.Parameters.Add(new NpgsqlParameter { Value = key });
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await WithAdvisoryLockAsync(connection, MigrationLock, async () =>
        {
            await using (var command = new NpgsqlCommand(
                "CREATE TABLE IF NOT EXISTS cray_schema_migrations (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())", connection))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            int applied;
            await using (var command = new NpgsqlCommand("SELECT count(*) FROM cray_schema_migrations", connection))
            {
                applied = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
            }
            if (applied > Migrations.Length)
            {
                throw new InvalidOperationException(
                    $"The database schema version {applied} is newer than this server understands ({Migrations.Length}); upgrade cray-server.");
            }
            for (var version = applied; version < Migrations.Length; version++)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using (var migration = new NpgsqlCommand(Migrations[version], connection, transaction))
                {
                    await migration.ExecuteNonQueryAsync(cancellationToken);
                }
                await using (var record = new NpgsqlCommand("INSERT INTO cray_schema_migrations (version) VALUES ($1)", connection, transaction))
                {
                    record.Parameters.Add(new NpgsqlParameter { Value = version + 1 });
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }
                await transaction.CommitAsync(cancellationToken);
            }
            return true;
        }, cancellationToken);
    }
}
