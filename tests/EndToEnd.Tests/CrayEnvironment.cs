using System.Diagnostics;
using Cray.Tests.Support;

namespace Cray.EndToEnd.Tests;

public sealed record CommandResult(int ExitCode, string Output, string Error);

/// <summary>
/// A real <c>cray-server</c> process on a free loopback port with its own data directory, and the
/// built <c>cray</c> CLI configured against it through a private CRAY_CONFIG_DIR.
/// </summary>
public sealed class CrayEnvironment : IAsyncLifetime
{
    private Process? server;

    /// <summary>cray-server flags beyond --listen and --data-dir.</summary>
    public IReadOnlyList<string> ExtraServerArguments { get; init; } = [];

    /// <summary>The address the server listens on (127.0.0.1 unless a test needs another).</summary>
    public string ListenHost { get; init; } = "127.0.0.1";

    /// <summary>https for a server given a certificate.</summary>
    public string Scheme { get; init; } = "http";

    /// <summary>What `cray init` is given: loopback, with the scheme the server speaks.</summary>
    public string Hostname => $"{Scheme}://127.0.0.1:{Port}";

    /// <summary>
    /// Under /var/lib rather than /tmp: OpenSSH only jails into a path whose every component is
    /// root-owned and not group/world-writable, and /tmp is world-writable.
    /// </summary>
    public string Root { get; } = CreateRoot();

    public const string TestsDirectory = "/var/lib/cray-tests";

    private static string CreateRoot()
    {
        Directory.CreateDirectory(TestsDirectory);
        File.SetUnixFileMode(TestsDirectory, (UnixFileMode)Convert.ToInt32("755", 8));
        var root = Path.Combine(TestsDirectory, "e2e-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)Convert.ToInt32("755", 8));
        return root;
    }

    public string DataDirectory => Path.Combine(Root, "data");

    public string ConfigDirectory => Path.Combine(Root, "config");

    public int Port { get; } = FreePort();

    public static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Cray.slnx")))
                {
                    return directory.FullName;
                }
            }
            throw new InvalidOperationException("Cannot find the repository root (Cray.slnx) above " + AppContext.BaseDirectory);
        }
    }

#if DEBUG
    private const string BuildConfiguration = "Debug";
#else
    private const string BuildConfiguration = "Release";
#endif

    public static string BuiltAssembly(string project, string assembly)
    {
        var path = Path.Combine(RepositoryRoot, "src", project, "bin", BuildConfiguration, "net10.0", assembly);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: build the solution first (./test.sh does).");
        }
        return path;
    }

    public async Task InitializeAsync()
    {
        await StartServerAsync();
        var init = await CrayAsync("init", "--hostname", Hostname, "--no-auth");
        Assert.Equal(0, init.ExitCode);
    }

    /// <summary>Starts (or restarts) cray-server on the same port and data directory.</summary>
    public async Task StartServerAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { BuiltAssembly("Cray.Server", "cray-server.dll"), "--listen", $"{ListenHost}:{Port}", "--data-dir", DataDirectory },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in ExtraServerArguments)
        {
            start.ArgumentList.Add(argument);
        }
        server = Process.Start(start)!;
        var log = Path.Combine(Root, "server.log");
        server.OutputDataReceived += (_, line) => AppendToLog(log, line.Data);
        server.ErrorDataReceived += (_, line) => AppendToLog(log, line.Data);
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        // A test server's certificate is self-signed.
#pragma warning disable CA5359 // The test server's certificate is made for the test.
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } });
#pragma warning restore CA5359
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetAsync($"{Hostname}/apis/ims/healthz/ready")).IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !server.HasExited)
            {
            }
            if (server.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"cray-server did not start (exit code {(server.HasExited ? server.ExitCode : -1)}): {File.ReadAllText(log)}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>Kills the server as a crash would: no shutdown, its children (job sshds) left running.</summary>
    public void CrashServer()
    {
        server!.Kill(entireProcessTree: false);
        server.WaitForExit(10_000);
        server.Dispose();
        server = null;
    }

    private bool disposed;

    /// <summary>Output can still arrive after the server is killed: once the directory is being deleted, it is dropped.</summary>
    private void AppendToLog(string log, string? line)
    {
        lock (this)
        {
            if (!disposed)
            {
                File.AppendAllText(log, line + "\n");
            }
        }
    }

    public Task DisposeAsync()
    {
        lock (this)
        {
            disposed = true;
        }
        if (server is { HasExited: false })
        {
            server.Kill(entireProcessTree: true);
            server.WaitForExit(10_000);
        }
        server?.Dispose();
        if (!File.ReadLines("/proc/self/mounts").Any(line => line.Split(' ')[1].StartsWith(Root + "/", StringComparison.Ordinal)))
        {
            Directory.Delete(Root, recursive: true);
        }
        return Task.CompletedTask;
    }

    public Task<CommandResult> CrayAsync(params string[] arguments) => CrayWithConfigAsync(ConfigDirectory, arguments);

    /// <summary>Starts the built cray against this server, for a test that must stop it midway.</summary>
    public Process StartCray(params string[] arguments) => StartCrayWithConfig(ConfigDirectory, arguments);

    private static Process StartCrayWithConfig(string configDirectory, string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(BuiltAssembly("Cray.Cli", "cray.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["CRAY_CONFIG_DIR"] = configDirectory;
        start.Environment.Remove("CRAY_FORMAT");
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return process;
    }

    public static async Task<CommandResult> CrayWithConfigAsync(string configDirectory, params string[] arguments)
    {
        using var process = StartCrayWithConfig(configDirectory, arguments);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return new CommandResult(process.ExitCode, await output, await error);
    }

    public static int FreePort() => FreeTcpPort.Find();
}
