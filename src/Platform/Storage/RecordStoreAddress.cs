using System.Text.RegularExpressions;
using Npgsql;

namespace Cray.Platform.Storage;

/// <summary>
/// Where the records live: SQLite in the data directory (the default), or the PostgreSQL database
/// a <c>postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=…&amp;host=/socket/dir]</c> address names.
/// The password never comes from the address (a command line is visible to every user): it comes
/// from a file, PGPASSWORD or ~/.pgpass, in that order.
/// </summary>
public sealed partial record RecordStoreAddress
{
    private static readonly string[] SslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

    private RecordStoreAddress(string? postgresConnectionString, string? sqlitePath, string description)
    {
        PostgresConnectionString = postgresConnectionString;
        SqlitePath = sqlitePath;
        Description = description;
    }

    /// <summary>Npgsql's connection string, password included when one was given; never logged.</summary>
    public string? PostgresConnectionString { get; }

    /// <summary>The SQLite database file; null for PostgreSQL.</summary>
    public string? SqlitePath { get; }

    /// <summary>The store for logs and errors: the address without any secret.</summary>
    public string Description { get; }

    public static RecordStoreAddress Sqlite(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, "cray.db");
        return new RecordStoreAddress(null, path, $"SQLite at {path}");
    }

    /// <summary>Reads <paramref name="address"/> (null: SQLite in the data directory); throws ArgumentException naming what is wrong.</summary>
    public static RecordStoreAddress Parse(string? address, string dataDirectory, string? passwordFile, Func<string, string?> environment)
    {
        if (string.IsNullOrEmpty(address) || address == "sqlite")
        {
            if (passwordFile is not null)
            {
                throw new ArgumentException("--store-password-file: only a postgresql:// --store has a password.");
            }
            return Sqlite(dataDirectory);
        }
        var match = PostgresAddress().Match(address);
        if (!match.Success)
        {
            throw new ArgumentException($"--store: '{address}' is not sqlite or postgresql://USER@HOST[:PORT]/DATABASE.");
        }
        if (match.Groups["password"].Success)
        {
            throw new ArgumentException("--store: a password in the address would be visible to every user of this machine (ps); give it with --store-password-file, PGPASSWORD or ~/.pgpass.");
        }
        var builder = new NpgsqlConnectionStringBuilder
        {
            Username = Uri.UnescapeDataString(match.Groups["user"].Value),
            Host = match.Groups["host"].Value.Trim('[', ']'),
            Database = Uri.UnescapeDataString(match.Groups["database"].Value),
        };
        if (match.Groups["port"].Success)
        {
            builder.Port = int.Parse(match.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        foreach (var parameter in match.Groups["query"].Value.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = parameter.IndexOf('=') is var equals and > 0
                ? (parameter[..equals], Uri.UnescapeDataString(parameter[(equals + 1)..]))
                : (parameter, "");
            switch (name)
            {
                case "sslmode" when SslModes.Contains(value):
                    builder.SslMode = Enum.Parse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
                    break;
                case "host" when value.StartsWith('/'):
                    builder.Host = value;
                    break;
                default:
                    throw new ArgumentException($"--store: '{parameter}' is not sslmode={string.Join("|", SslModes)} or host=/socket/directory.");
            }
        }
        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new ArgumentException("--store: the address names no host (give HOST, or ?host=/socket/directory).");
        }
        var description = $"PostgreSQL database {builder.Database} on {builder.Host}{(match.Groups["port"].Success ? ":" + builder.Port : "")} as {builder.Username}";
        if (passwordFile is not null)
        {
            builder.Password = SecretFile.ReadFirstLine("--store-password-file", passwordFile);
        }
        else if (environment("PGPASSWORD") is { Length: > 0 } password)
        {
            builder.Password = password;
        }
        return new RecordStoreAddress(builder.ConnectionString, null, description);
    }

    /// <summary>Opens the store this address names, with its schema brought up to date.</summary>
    public async Task<IRecordStore> OpenAsync(CancellationToken cancellationToken = default)
        => PostgresConnectionString is { } connectionString
            ? await PostgresRecordStore.OpenAsync(connectionString, cancellationToken)
            : new SqliteRecordStore(SqlitePath!);

    [GeneratedRegex(@"^postgres(?:ql)?://(?<user>[^:@/?]+)(?::(?<password>[^@/?]*))?@(?<host>\[[^\]]+\]|[^:/?]*)(?::(?<port>\d{1,5}))?/(?<database>[^?/]+)(?:\?(?<query>.*))?$")]
    private static partial Regex PostgresAddress();
}
