using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// A server with the IMS worker, the cached Debian base image imported into it, and an SSH key pair
/// registered as an IMS public key: what the documented "Customize an Image Root Using IMS" needs.
/// </summary>
public class JobEnvironment : IAsyncLifetime
{
    public JobEnvironment()
    {
        Cray = new CrayEnvironment { ExtraServerArguments = ServerArguments, ListenHost = ListenHost, Scheme = Scheme };
    }

    /// <summary>Extra cray-server flags for a fixture that needs them.</summary>
    protected virtual string[] ServerArguments => [];

    protected virtual string ListenHost => "127.0.0.1";

    protected virtual string Scheme => "http";

    public CrayEnvironment Cray { get; }

    public string BaseImageId { get; private set; } = "";

    public string BaseRootfsMd5 { get; private set; } = "";

    public string PublicKeyId { get; private set; } = "";

    public string PrivateKey => Path.Combine(Cray.Root, "id_ed25519");

    /// <summary>Runs once the server is up and `cray init` is done, before anything else is sent.</summary>
    protected virtual Task AfterServerStartAsync() => Task.CompletedTask;

    public virtual async Task InitializeAsync()
    {
        await Cray.InitializeAsync();
        await AfterServerStartAsync();
        var baseImage = await BaseImagePathAsync();
        var imported = await Cray.CrayAsync("ims", "images", "import", "--name", "base", "--rootfs", baseImage, "--format", "json");
        Assert.True(imported.ExitCode == 0, imported.Error);
        BaseImageId = (string)JsonNode.Parse(imported.Output)!["id"]!;
        BaseRootfsMd5 = await RootfsMd5Async(BaseImageId);

        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", PrivateKey]));
        var key = await Cray.CrayAsync("ims", "public-keys", "create", "--name", "tests", "--public-key", PrivateKey + ".pub", "--format", "json");
        Assert.True(key.ExitCode == 0, key.Error);
        PublicKeyId = (string)JsonNode.Parse(key.Output)!["id"]!;
    }

    public virtual Task DisposeAsync() => Cray.DisposeAsync();

    /// <summary>The cached mmdebstrap image: test.sh passes its path; otherwise the script builds or finds it.</summary>
    public static async Task<string> BaseImagePathAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("CRAY_TEST_BASE_IMAGE");
        if (!string.IsNullOrEmpty(fromEnvironment) && File.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }
        var script = Path.Combine(CrayEnvironment.RepositoryRoot, "scripts", "base-image.sh");
        var result = await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest(script, []) { Timeout = TimeSpan.FromMinutes(10) });
        return result.Output.Trim().Split('\n')[^1];
    }

    public async Task<string> RootfsMd5Async(string imageId)
    {
        var described = await Cray.CrayAsync("artifacts", "describe", "boot-images", $"{imageId}/rootfs", "--format", "json");
        Assert.True(described.ExitCode == 0, described.Error);
        return ((string)JsonNode.Parse(described.Output)!["artifact"]!["ETag"]!).Trim('"');
    }

    public async Task<JsonNode> CreateJobAsync(string archiveName, bool jail = true, string? imageId = null, params string[] extra)
    {
        var result = await Cray.CrayAsync(["ims", "jobs", "create", "--job-type", "customize", "--artifact-id", imageId ?? BaseImageId,
            "--image-root-archive-name", archiveName, "--public-key-id", PublicKeyId, "--ssh-containers-jail", jail ? "True" : "False", "--format", "json", .. extra]);
        Assert.True(result.ExitCode == 0, result.Error);
        return JsonNode.Parse(result.Output)!;
    }

    public async Task<JsonNode> WaitAsync(string jobId, string? until = null)
    {
        string[] arguments = until is null
            ? ["ims", "jobs", "wait", jobId, "--timeout", "5m", "--format", "json"]
            : ["ims", "jobs", "wait", jobId, "--until", until, "--timeout", "5m", "--format", "json"];
        var result = await Cray.CrayAsync(arguments);
        var job = JsonNode.Parse(result.Output)!;
        if (until is not null && (string?)job["status"] is { } status && status != until && status is "success" or "error")
        {
            // The job ended without reaching the state the test needs: its log says why.
            Assert.Fail($"Job {jobId} ended {status} before {until}:\n{(await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output}");
        }
        return job;
    }

    public static int SshPort(JsonNode job) => (int)job["ssh_containers"]![0]!["connection_info"]!["customer_access"]!["port"]!;

    /// <summary>Runs a command over the system ssh client as the documented workflow does.</summary>
    public async Task<ProcessResult> SshAsync(int port, string command)
        => await ProcessRunner.Instance.RunAsync(new ProcessRequest("ssh",
        [
            "-i", PrivateKey, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
            "root@127.0.0.1", command,
        ])
        { Timeout = TimeSpan.FromMinutes(2) });

    /// <summary>Runs a command that must succeed; a failure shows ssh's own output and the job's log.</summary>
    public async Task SshCheckedAsync(int port, string command)
    {
        var result = await SshAsync(port, command);
        if (!result.Succeeded)
        {
            var jobs = await Cray.CrayAsync("ims", "jobs", "list", "--format", "json");
            Assert.Fail($"ssh -p {port} '{command}' exited {result.ExitCode}: {result.Output}\njobs: {jobs.Output}");
        }
    }

    public string JobDirectory(string jobId) => Path.Combine(Cray.DataDirectory, "ims", "jobs", jobId);

    public static bool SshdRunningFor(string jobId) => ProcessesFor(jobId).Any(process => process.CommandLine.Contains("sshd", StringComparison.Ordinal));

    /// <summary>The processes that name the job (its directory, its network's control socket) on their command line or work in its directory.</summary>
    public static IReadOnlyList<(int ProcessId, string CommandLine)> ProcessesFor(string jobId)
    {
        var found = new List<(int, string)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var processId))
            {
                continue;
            }
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
                var workingDirectory = new DirectoryInfo(Path.Combine(directory, "cwd")).LinkTarget ?? "";
                if (commandLine.Contains(jobId, StringComparison.Ordinal) || workingDirectory.Contains(jobId, StringComparison.Ordinal))
                {
                    found.Add((processId, commandLine));
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        return found;
    }
}
