using Cray.Tests.Support;

namespace Cray.EndToEnd.Tests;

/// <summary>A server with every role whose records are in PostgreSQL (a private server the fixture starts).</summary>
public sealed class PostgresJobEnvironment : JobEnvironment
{
    // Runs before the base constructor reads ServerArguments.
    private readonly PostgresTestServer postgres = new();

    protected override string[] ServerArguments => ["--store", postgres.DefaultDatabaseAddress];

    public override async Task InitializeAsync()
    {
        await postgres.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await postgres.DisposeAsync();
    }
}

/// <summary>The seed on PostgreSQL: the worker's and the runner's claims, updates and waits go through it.</summary>
public sealed class PostgresSeedTests(PostgresJobEnvironment environment) : IClassFixture<PostgresJobEnvironment>
{
    [Fact]
    public async Task TheSeedWorksWithTheRecordsInPostgresql()
    {
        await SeedScenario.RunAsync(environment);
        Assert.False(File.Exists(Path.Combine(environment.Cray.DataDirectory, "cray.db")));
    }
}
