using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

public sealed class ServerStartTests
{
    private static Task<ProcessResult> ServerAsync(string[] arguments, IReadOnlyDictionary<string, string?>? environment = null)
        => ProcessRunner.Instance.RunAsync(new ProcessRequest("dotnet", [CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"), .. arguments])
        {
            Environment = environment ?? new Dictionary<string, string?>(),
        });

    [Fact]
    public async Task HelpListsEveryFlagWithItsValueAndEnvironmentVariable()
    {
        var result = await ServerAsync(["--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--listen <HOST:PORT>", result.Output);
        Assert.Contains("[env: CRAY_SERVER_DATA_DIR]", result.Output);
        Assert.Contains("[env: CRAY_SERVER_LOG_FORMAT]", result.Output);
        Assert.Contains("tokens ", result.Output);
        Assert.DoesNotContain("--applicationName", result.Output);
    }

    [Theory]
    [InlineData(new[] { "--bogus" }, "Usage: cray-server [OPTIONS] [COMMAND [ARGS]...]\nTry 'cray-server -h' for help.\n\nError: No such option: --bogus\n")]
    [InlineData(new[] { "--listen" }, "Error: Option '--listen' requires an argument.\n")]
    [InlineData(new[] { "tokens", "create" }, "Usage: cray-server tokens create [OPTIONS] NAME\nTry 'cray-server tokens create -h' for help.\n\nError: Missing argument.\n")]
    [InlineData(new[] { "tokens", "delete", "a", "b" }, "Error: Got unexpected extra argument (b)\n")]
    public async Task AUsageErrorShowsTheUsageAndOneErrorLineAsCrayDoes(string[] arguments, string expected)
    {
        var result = await ServerAsync(arguments);
        Assert.Equal(2, result.ExitCode);
        Assert.EndsWith(expected, result.Output);
    }

    [Fact]
    public async Task AGroupWithoutACommandShowsItsHelp()
    {
        var result = await ServerAsync(["tokens"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("cray-server tokens [command] [options]", result.Output);
        Assert.Contains("create <NAME>", result.Output);
    }

    [Fact]
    public async Task AFlagComesFromItsEnvironmentVariableUnlessTheCommandLineGivesIt()
    {
        var fromEnvironment = await ServerAsync(["--data-dir", Path.GetTempPath()], new Dictionary<string, string?> { ["CRAY_SERVER_LOG_LEVEL"] = "loud" });
        Assert.Equal(2, fromEnvironment.ExitCode);
        Assert.Contains("--log-level: 'loud' is not", fromEnvironment.Output);

        var commandLineWins = await ServerAsync(["--data-dir", Path.GetTempPath(), "--log-level", "noisy"],
            new Dictionary<string, string?> { ["CRAY_SERVER_LOG_LEVEL"] = "loud" });
        Assert.Equal(2, commandLineWins.ExitCode);
        Assert.Contains("--log-level: 'noisy' is not", commandLineWins.Output);
    }

    [Theory]
    [InlineData("0.0.0.0:8280")]
    [InlineData("10.1.2.3:8280", "--auth", "token")]
    public async Task NonLoopbackListenIsRefusedWithoutTlsAndTokens(string listen, params string[] extra)
    {
        var result = await ServerAsync(["--listen", listen, "--data-dir", Path.GetTempPath(), .. extra]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("a non-loopback address needs --tls-certificate and --tls-key, and --auth token", result.Output);
    }

    [Theory]
    [InlineData("--log-level", "loud", "--log-level: 'loud' is not trace, debug, information, warning or error.")]
    [InlineData("--log-format", "xml", "--log-format: 'xml' is not text or json.")]
    public async Task ABadLogFlagIsRefused(string flag, string value, string expected)
    {
        var result = await ServerAsync(["--data-dir", Path.GetTempPath(), flag, value]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Output);
    }

    [Fact]
    public async Task JsonLogsAreOneObjectALineAndShowAnImportsStepsOnly()
    {
        var cray = new CrayEnvironment { ExtraServerArguments = ["--log-format", "json", "--roles", "api"] };
        await cray.InitializeAsync();
        try
        {
            var root = Directory.CreateDirectory(Path.Combine(cray.Root, "import-root")).FullName;
            await File.WriteAllTextAsync(Path.Combine(root, "hostname"), "node\n");
            var imported = await cray.CrayAsync("ims", "images", "import", "--name", "logged", "--rootfs", root, "--format", "json");
            Assert.True(imported.ExitCode == 0, imported.Error);
            var imageId = (string)JsonNode.Parse(imported.Output)!["id"]!;
            var lines = File.ReadAllLines(Path.Combine(cray.Root, "server.log")).Where(line => line.Length > 0).ToList();
            var entries = lines.Select(line => JsonNode.Parse(line)!).ToList();
            Assert.All(entries, entry => Assert.NotNull((string?)entry["LogLevel"]));
            var messages = entries.Select(entry => (string?)entry["Message"] ?? "").ToList();
            Assert.Contains(messages, message => message.StartsWith("cray-server listening on", StringComparison.Ordinal));
            Assert.DoesNotContain(entries, entry => ((string?)entry["Category"])?.StartsWith("Microsoft.AspNetCore.Hosting", StringComparison.Ordinal) == true);
            // The import's steps, and nothing else: no line for each request it made.
            Assert.Equal([$"IMS image {imageId} (logged): created.", $"IMS image {imageId} (logged): linked to s3://boot-images/{imageId}/manifest.json."],
                messages.Where(message => !message.StartsWith("cray-server listening on", StringComparison.Ordinal)));
        }
        finally
        {
            await cray.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheSystemdUnitRunsTheInstalledServerAndVerifies()
    {
        var unit = await File.ReadAllTextAsync(Path.Combine(CrayEnvironment.RepositoryRoot, "packaging", "cray-server.service"));
        // Where ./quickstart.sh installs the server, with the data directory the server insists on keeping 0700.
        Assert.Contains("ExecStart=/opt/cray/server/cray-server --data-dir /var/lib/cray-server $CRAY_SERVER_OPTIONS\n", unit);
        Assert.Contains("StateDirectoryMode=0700\n", unit);
        Assert.Contains("Restart=on-failure\n", unit);
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            return; // The checks above still hold; systemd's own reading needs systemd's tool.
        }
        var server = Path.Combine(Path.GetDirectoryName(CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"))!, "cray-server");
        var copy = Path.Combine(Path.GetTempPath(), $"cray-server-{Guid.NewGuid():n}.service");
        await File.WriteAllTextAsync(copy, unit.Replace("/opt/cray/server/cray-server", server, StringComparison.Ordinal));
        try
        {
            var verified = await ProcessRunner.Instance.RunAsync(new ProcessRequest("systemd-analyze", ["verify", copy]));
            Assert.True(verified.ExitCode == 0 && verified.Output.Trim().Length == 0, verified.Output);
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public async Task ACertificateWithoutItsKeyIsRefused()
    {
        var result = await ServerAsync(["--data-dir", Path.GetTempPath(), "--tls-certificate", "/etc/hostname"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--tls-certificate and --tls-key go together", result.Output);
    }
}
