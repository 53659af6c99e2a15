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
    ];

    private readonly string connectionString;
    private readonly RecordChanges changes = new();

    public SqliteRecordStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
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

    public Task NextChangeAsync(string collection) => changes.Next(collection);

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

    public async IAsyncEnumerable<T> ScanByIdAsync<T>(string collection, string? afterId = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = afterId is null
            ? "SELECT body FROM records WHERE collection = $collection ORDER BY id"
            : "SELECT body FROM records WHERE collection = $collection AND id > $after ORDER BY id";
        command.Parameters.AddWithValue("$collection", collection);
        if (afterId is not null)
        {
            command.Parameters.AddWithValue("$after", afterId);
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return RecordDocuments.Deserialize<T>(reader.GetString(0));
        }
    }

    public async Task<T?> UpdateAsync<T>(string collection, string id, Func<T, T?> change, CancellationToken cancellationToken = default) where T : class
    {
        await using var connection = Open();
        // IMMEDIATE takes the write lock before reading, so the read-change-write cannot interleave with another writer.
        await using (var begin = connection.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT body FROM records WHERE collection = $collection AND id = $id";
            read.Parameters.AddWithValue("$collection", collection);
            read.Parameters.AddWithValue("$id", id);
            var body = (string?)await read.ExecuteScalarAsync(cancellationToken);
            var changed = body is null ? null : change(RecordDocuments.Deserialize<T>(body));
            if (changed is not null)
            {
                await using var write = connection.CreateCommand();
                write.CommandText = "UPDATE records SET body = $body WHERE collection = $collection AND id = $id";
                write.Parameters.AddWithValue("$collection", collection);
                write.Parameters.AddWithValue("$id", id);
                write.Parameters.AddWithValue("$body", RecordDocuments.Serialize(changed));
                await write.ExecuteNonQueryAsync(cancellationToken);
            }
            await using var commit = connection.CreateCommand();
            commit.CommandText = "COMMIT";
            await commit.ExecuteNonQueryAsync(CancellationToken.None);
            if (changed is not null)
            {
                changes.Signal([collection]);
            }
            return changed;
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
                    command.CommandText = "INSERT INTO records (collection, id, body) VALUES ($collection, $id, $body)";
                    command.Parameters.AddWithValue("$body", RecordDocuments.Serialize(write.Record));
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
                        INSERT INTO records (collection, id, body) VALUES ($collection, $id, $body)
                        ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body
                        """;
                    command.Parameters.AddWithValue("$body", RecordDocuments.Serialize(write.Record));
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
