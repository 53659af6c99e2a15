using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Cray.Platform.Storage;

/// <summary>SQLite in WAL mode. Each collection's records keep insertion order through an autoincrement sequence.</summary>
public sealed class SqliteRecordStore : IRecordStore
{
    /// <summary>Schema migrations in order; the database's user_version is the number already applied.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE records (
            sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
            collection TEXT NOT NULL,
            id         TEXT NOT NULL,
            body       TEXT NOT NULL,
            UNIQUE (collection, id)
        );
        """,
        """
        ALTER TABLE records ADD COLUMN stage TEXT;
        CREATE INDEX records_by_stage ON records (collection, stage, sequence) WHERE stage IS NOT NULL;
        """,
    ];

    /// <summary>Candidates a claim reads at once; the first that the claimer accepts is taken.</summary>
    private const int ClaimCandidates = 64;

    private readonly string connectionString;
    private readonly string lockPrefix;
    private readonly RecordChanges changes = new();

    /// <summary>Locks by database and name, for every store of this process: SQLite is never shared between machines.</summary>
    private static readonly Work.NamedLocks Locks = new();

    public SqliteRecordStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        lockPrefix = Path.GetFullPath(databasePath) + "\n";
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = 30,
        }.ToString();
        Migrate();
    }

    public static int LatestSchemaVersion => Migrations.Length;

    public bool IsSharedBetweenMachines => false;

    public Task NextChangeAsync(string collection) => changes.Next(collection);

    public Task<T> ExclusiveAsync<T>(string name, Func<Task<T>> work, CancellationToken cancellationToken = default)
        => Locks.RunAsync(lockPrefix + name, work, cancellationToken);

    public int SchemaVersion
    {
        get
        {
            using var connection = Open();
            return ReadUserVersion(connection);
        }
    }

    public async Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM records WHERE collection = $collection AND id = $id";
        command.Parameters.AddWithValue("$collection", collection);
        command.Parameters.AddWithValue("$id", id);
        var body = (string?)await command.ExecuteScalarAsync(cancellationToken);
        return body is null ? null : RecordDocuments.Deserialize<T>(body);
    }

    public async Task<IReadOnlyList<T>> ListAsync<T>(string collection, CancellationToken cancellationToken = default)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM records WHERE collection = $collection ORDER BY sequence";
        command.Parameters.AddWithValue("$collection", collection);
        return await RecordDocuments.ReadAllAsync<T>(command, cancellationToken);
    }

    public async IAsyncEnumerable<T> ScanByIdAsync<T>(string collection, string? afterId = null, JsonObject? containing = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        var sql = new System.Text.StringBuilder("SELECT body FROM records WHERE collection = $collection");
        command.Parameters.AddWithValue("$collection", collection);
        if (afterId is not null)
        {
            sql.Append(" AND id > $after");
            command.Parameters.AddWithValue("$after", afterId);
        }
        var leaf = 0;
        foreach (var (path, value) in containing is null ? [] : RecordDocuments.Leaves(containing))
        {
            // A name with a double quote cannot be written in a JSON path: the caller's own filter covers it.
            if (path.Any(name => name.Contains('"')))
            {
                continue;
            }
            sql.Append($" AND json_extract(body, $path{leaf}) = $value{leaf}");
            command.Parameters.AddWithValue($"$path{leaf}", "$" + string.Concat(path.Select(name => $".\"{name}\"")));
            command.Parameters.AddWithValue($"$value{leaf}", value is bool flag ? (flag ? 1 : 0) : value);
            leaf++;
        }
        command.CommandText = sql.Append(" ORDER BY id").ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return RecordDocuments.Deserialize<T>(reader.GetString(0));
        }
    }

    public Task<T?> UpdateAsync<T>(string collection, string id, Func<T, T?> change, CancellationToken cancellationToken = default) where T : class
        => InWriteTransactionAsync(collection, async connection =>
        {
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT body FROM records WHERE collection = $collection AND id = $id";
            read.Parameters.AddWithValue("$collection", collection);
            read.Parameters.AddWithValue("$id", id);
            var body = (string?)await read.ExecuteScalarAsync(cancellationToken);
            var changed = body is null ? null : change(RecordDocuments.Deserialize<T>(body));
            if (changed is not null)
            {
                await WriteBackAsync(connection, collection, id, changed, cancellationToken);
            }
            return changed;
        }, cancellationToken);

    public async IAsyncEnumerable<T> ListInStageAsync<T>(string collection, string stage,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM records WHERE collection = $collection AND stage = $stage ORDER BY sequence";
        command.Parameters.AddWithValue("$collection", collection);
        command.Parameters.AddWithValue("$stage", stage);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return RecordDocuments.Deserialize<T>(reader.GetString(0));
        }
    }

    public async Task<T?> ClaimAsync<T>(string collection, string stage, Func<T, T?> change, CancellationToken cancellationToken = default) where T : class
    {
        // Workers poll: a look without the write lock first, so an empty queue never blocks the API's writes.
        await using (var connection = Open())
        await using (var look = connection.CreateCommand())
        {
            look.CommandText = "SELECT EXISTS (SELECT 1 FROM records WHERE collection = $collection AND stage = $stage)";
            look.Parameters.AddWithValue("$collection", collection);
            look.Parameters.AddWithValue("$stage", stage);
            if (Convert.ToInt64(await look.ExecuteScalarAsync(cancellationToken)) == 0)
            {
                return null;
            }
        }
        return await InWriteTransactionAsync(collection, async connection =>
        {
            // The write lock is held from this read to the commit: one claimer at a time, in any process.
            await using var read = connection.CreateCommand();
            read.CommandText = $"SELECT id, body FROM records WHERE collection = $collection AND stage = $stage ORDER BY sequence LIMIT {ClaimCandidates}";
            read.Parameters.AddWithValue("$collection", collection);
            read.Parameters.AddWithValue("$stage", stage);
            foreach (var (id, body) in await RecordDocuments.ReadIdsAndBodiesAsync(read, cancellationToken))
            {
                if (change(RecordDocuments.Deserialize<T>(body)) is { } claimed)
                {
                    await WriteBackAsync(connection, collection, id, claimed, cancellationToken);
                    return claimed;
                }
            }
            return null;
        }, cancellationToken);
    }

    public async Task RestageAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class
        => await InWriteTransactionAsync<object>(collection, async connection =>
        {
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT id, body, stage FROM records WHERE collection = $collection";
            read.Parameters.AddWithValue("$collection", collection);
            var stale = new List<(string Id, object Stage)>();
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    var stage = RecordDocuments.StageOf(RecordDocuments.Deserialize<T>(reader.GetString(1)));
                    if (!Equals(stage, reader.GetValue(2)))
                    {
                        stale.Add((reader.GetString(0), stage));
                    }
                }
            }
            foreach (var (id, stage) in stale)
            {
                await using var write = connection.CreateCommand();
                write.CommandText = "UPDATE records SET stage = $stage WHERE collection = $collection AND id = $id";
                write.Parameters.AddWithValue("$collection", collection);
                write.Parameters.AddWithValue("$id", id);
                write.Parameters.AddWithValue("$stage", stage);
                await write.ExecuteNonQueryAsync(cancellationToken);
            }
            return stale.Count > 0 ? stale : null;
        }, cancellationToken);

    private static async Task WriteBackAsync(SqliteConnection connection, string collection, string id, object record, CancellationToken cancellationToken)
    {
        await using var write = connection.CreateCommand();
        write.CommandText = "UPDATE records SET body = $body, stage = $stage WHERE collection = $collection AND id = $id";
        write.Parameters.AddWithValue("$collection", collection);
        write.Parameters.AddWithValue("$id", id);
        write.Parameters.AddWithValue("$body", RecordDocuments.Serialize(record));
        write.Parameters.AddWithValue("$stage", RecordDocuments.StageOf(record));
        await write.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> holding the database's write lock from its first read (BEGIN
    /// IMMEDIATE), so a read-change-write cannot interleave with another writer; a non-null result
    /// is a committed change, which signals the collection's waiters.
    /// </summary>
    private async Task<TResult?> InWriteTransactionAsync<TResult>(string collection, Func<SqliteConnection, Task<TResult?>> work, CancellationToken cancellationToken)
        where TResult : class
    {
        await using var connection = Open();
        await using (var begin = connection.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            var result = await work(connection);
            await using var commit = connection.CreateCommand();
            commit.CommandText = "COMMIT";
            await commit.ExecuteNonQueryAsync(CancellationToken.None);
            if (result is not null)
            {
                changes.Signal([collection]);
            }
            return result;
        }
        catch
        {
            await using var rollback = connection.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync(CancellationToken.None);
            throw;
        }
    }

    public async Task WriteAsync(IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken = default)
    {
        await using var connection = Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        foreach (var write in writes)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.Parameters.AddWithValue("$collection", write.Collection);
            command.Parameters.AddWithValue("$id", write.Id);
            switch (write.Kind)
            {
                case RecordWriteKind.Insert:
                    command.CommandText = "INSERT INTO records (collection, id, body, stage) VALUES ($collection, $id, $body, $stage)";
                    command.Parameters.AddWithValue("$body", RecordDocuments.Serialize(write.Record));
                    command.Parameters.AddWithValue("$stage", RecordDocuments.StageOf(write.Record));
                    try
                    {
                        await command.ExecuteNonQueryAsync(cancellationToken);
                    }
                    catch (SqliteException exception) when (exception.SqliteErrorCode == 19)
                    {
                        throw new RecordConflictException(write.Collection, write.Id);
                    }
                    break;
                case RecordWriteKind.Upsert:
                    // An update keeps the record's place in its collection's order.
                    command.CommandText = """
                        INSERT INTO records (collection, id, body, stage) VALUES ($collection, $id, $body, $stage)
                        ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body, stage = excluded.stage
                        """;
                    command.Parameters.AddWithValue("$body", RecordDocuments.Serialize(write.Record));
                    command.Parameters.AddWithValue("$stage", RecordDocuments.StageOf(write.Record));
                    await command.ExecuteNonQueryAsync(cancellationToken);
                    break;
                case RecordWriteKind.Delete:
                    command.CommandText = "DELETE FROM records WHERE collection = $collection AND id = $id";
                    await command.ExecuteNonQueryAsync(cancellationToken);
                    break;
            }
        }
        await transaction.CommitAsync(cancellationToken);
        changes.Signal(writes.Select(write => write.Collection));
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragmas = connection.CreateCommand();
        pragmas.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
        pragmas.ExecuteNonQuery();
        return connection;
    }

    private void Migrate()
    {
        using var connection = Open();
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            wal.ExecuteNonQuery();
        }
        var applied = ReadUserVersion(connection);
        if (applied > Migrations.Length)
        {
            throw new InvalidOperationException(
                $"The database schema version {applied} is newer than this server understands ({Migrations.Length}); upgrade cray-server.");
        }
        for (var version = applied; version < Migrations.Length; version++)
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = Migrations[version] + $"\nPRAGMA user_version = {version + 1};";
            command.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    private static int ReadUserVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar());
    }
}
