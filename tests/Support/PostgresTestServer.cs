using System.Diagnostics;
using Cray.Processes;
using Npgsql;

namespace Cray.Tests.Support;

/// <summary>
/// A private PostgreSQL server from the system's packages: a fresh cluster in a temporary
/// directory, listening only on a Unix socket there. PostgreSQL refuses to run as root, so when the
/// tests run as root the cluster belongs to, and the server runs as, the unprivileged user nobody.
/// Each test takes a database of its own.
/// </summary>
public sealed class PostgresTestServer : IAsyncLifetime
{
    private const string UnprivilegedId = "65534";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private static readonly bool AsRoot = Environment.UserName == "root";

    // As root, under /tmp whatever TMPDIR says: nobody must be able to reach it (the Unix socket is short there too).
    private readonly string directory = AsRoot
        ? Directory.CreateDirectory(Path.Combine("/tmp", "postgres-test-" + Guid.NewGuid().ToString("n"))).FullName
        : Directory.CreateTempSubdirectory("postgres-test-").FullName;
    private Process? server;
    private int databases;

    private string DataDirectory => Path.Combine(directory, "data");

    /// <summary>A key-ring secret (--key-ring-secret-file) for the cray-servers of this PostgreSQL: servers on a shared store need one.</summary>
    public string KeyRingSecretFile => Path.Combine(directory, "key-ring.secret");

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(KeyRingSecretFile, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)) + "\n");
        File.SetUnixFileMode(KeyRingSecretFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var binaries = BinaryDirectory();
        if (AsRoot)
        {
            await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("chown", [$"{UnprivilegedId}:{UnprivilegedId}", directory]));
        }
        string[] Command(string program, params string[] arguments) => AsRoot
            ? ["setpriv", $"--reuid={UnprivilegedId}", $"--regid={UnprivilegedId}", "--clear-groups", "--", Path.Combine(binaries, program), .. arguments]
            : [Path.Combine(binaries, program), .. arguments];
        var initdb = Command("initdb", "-D", DataDirectory, "-A", "trust", "-U", "cray", "-E", "UTF8", "--locale=C", "--no-sync");
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest(initdb[0], initdb[1..]) { Timeout = StartTimeout });
        // Durability is not what these tests are about: the settings that make a test cluster fast.
        var postgres = Command("postgres", "-D", DataDirectory, "-k", directory, "-c", "listen_addresses=", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
        var start = new ProcessStartInfo(postgres[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in postgres[1..])
        {
            start.ArgumentList.Add(argument);
        }
        server = Process.Start(start)!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
                await connection.OpenAsync();
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or System.Net.Sockets.SocketException && DateTime.UtcNow < deadline && !server.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync() => ConnectionString(await CreateDatabaseNamedAsync());

    /// <summary>The database every cluster has, as cray-server's --store takes it; known before the server starts.</summary>
    public string DefaultDatabaseAddress => $"postgresql://cray@localhost/postgres?host={directory}";

    /// <summary>A new, empty database; returns its address as cray-server's --store takes it.</summary>
    public async Task<string> CreateDatabaseAddressAsync() => $"postgresql://cray@localhost/{await CreateDatabaseNamedAsync()}?host={directory}";

    private async Task<string> CreateDatabaseNamedAsync()
    {
        var name = $"test_{Interlocked.Increment(ref databases)}";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    public async Task DisposeAsync()
    {
        if (server is { HasExited: false })
        {
            // A fast shutdown (SIGINT) lets the server remove its shared memory; a kill is the fallback.
            await ProcessRunner.Instance.RunAsync(new ProcessRequest("kill", ["-INT", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await server.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
        }
        server?.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private string ConnectionString(string database)
        => new NpgsqlConnectionStringBuilder { Host = directory, Username = "cray", Database = database, Pooling = true }.ToString();

    /// <summary>Debian keeps the server's programs in /usr/lib/postgresql/VERSION/bin, off the PATH; the newest is taken.</summary>
    private static string BinaryDirectory()
    {
        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql")
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "postgres")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
        return installed ?? throw new InvalidOperationException("PostgreSQL's server is not installed (/usr/lib/postgresql/*/bin/postgres); ./test.sh installs the postgresql package.");
    }
}
