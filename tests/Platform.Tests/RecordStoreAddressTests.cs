using Cray.Platform.Storage;
using Npgsql;

namespace Cray.Platform.Tests;

/// <summary>cray-server --store: what an address names, and the passwords it refuses to take.</summary>
public sealed class RecordStoreAddressTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Theory]
    [InlineData(null)]
    [InlineData("sqlite")]
    public void NothingOrSqliteIsTheDatabaseInTheDataDirectory(string? address)
    {
        var store = RecordStoreAddress.Parse(address, "/var/lib/cray-server", null, NoEnvironment);
        Assert.Equal("/var/lib/cray-server/cray.db", store.SqlitePath);
        Assert.Null(store.PostgresConnectionString);
    }

    [Fact]
    public void APostgresAddressNamesUserHostPortDatabaseAndTls()
    {
        var store = RecordStoreAddress.Parse("postgresql://cray@db.example.com:6543/cfs?sslmode=verify-full", "/data", null, NoEnvironment);
        var connection = new NpgsqlConnectionStringBuilder(store.PostgresConnectionString);
        Assert.Equal(("cray", "db.example.com", 6543, "cfs", SslMode.VerifyFull), (connection.Username, connection.Host, connection.Port, connection.Database, connection.SslMode));
        Assert.Null(connection.Password);
        Assert.Null(store.SqlitePath);
        Assert.Equal("PostgreSQL database cfs on db.example.com:6543 as cray", store.Description);
    }

    [Fact]
    public void ASocketDirectoryMayStandForTheHost()
    {
        var store = RecordStoreAddress.Parse("postgres://cray@localhost/cray?host=/run/postgresql", "/data", null, NoEnvironment);
        Assert.Equal("/run/postgresql", new NpgsqlConnectionStringBuilder(store.PostgresConnectionString).Host);
    }

    [Fact]
    public void ThePasswordComesFromTheFileBeforePgpassword()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "from-file\nsecond line\n");
            var environment = new Dictionary<string, string?> { ["PGPASSWORD"] = "from-environment" };
            var fromFile = RecordStoreAddress.Parse("postgresql://cray@db/cray", "/data", file, environment.GetValueOrDefault);
            Assert.Equal("from-file", new NpgsqlConnectionStringBuilder(fromFile.PostgresConnectionString).Password);
            Assert.DoesNotContain("from-file", fromFile.Description);
            var fromEnvironment = RecordStoreAddress.Parse("postgresql://cray@db/cray", "/data", null, environment.GetValueOrDefault);
            Assert.Equal("from-environment", new NpgsqlConnectionStringBuilder(fromEnvironment.PostgresConnectionString).Password);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("postgresql://cray:secret@db/cray", "visible to every user")]
    [InlineData("mysql://cray@db/cray", "is not sqlite or postgresql://")]
    [InlineData("postgresql://cray@db", "is not sqlite or postgresql://")]
    [InlineData("postgresql://cray@/cray", "names no host")]
    [InlineData("postgresql://cray@db/cray?sslmode=sometimes", "is not sslmode=")]
    [InlineData("postgresql://cray@db/cray?options=-c%20x", "is not sslmode=")]
    public void BadAddressesAreRefusedWithTheReason(string address, string reason)
    {
        var failure = Assert.Throws<ArgumentException>(() => RecordStoreAddress.Parse(address, "/data", null, NoEnvironment));
        Assert.Contains(reason, failure.Message);
        Assert.DoesNotContain("secret", failure.Message);
    }
}
