using Microsoft.Data.Sqlite;

namespace Cray.Platform.Problems;

/// <summary>Recognizes a write that failed because the server's storage is full, wherever it surfaced (a file, the database).</summary>
public static class StorageFull
{
    private const int NoSpaceLeftOnDevice = 28;
    private const int DiskQuotaExceeded = 122;
    private const int SqliteFull = 13;

    /// <summary>The exception in the chain that says the storage is full, or null.</summary>
    public static Exception? Cause(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is IOException { HResult: NoSpaceLeftOnDevice or DiskQuotaExceeded }
                || current is SqliteException { SqliteErrorCode: SqliteFull })
            {
                return current;
            }
        }
        return null;
    }
}
