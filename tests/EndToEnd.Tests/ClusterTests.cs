using System.Text.Json.Nodes;
using Cray.Processes;
using Cray.Tests.Support;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// scripts/cluster.sh's layout: PostgreSQL, a RADOS Gateway and five cray-servers, each in its own
/// network namespace (two API servers, two IMS workers of one slot each, one CFS runner), HTTPS with
/// tokens; the built cray talks to either API server. Short leases, so a lost worker is noticed in seconds.
/// </summary>
public sealed class ClusterEnvironment : IAsyncLifetime
{
    private IReadOnlyDictionary<string, string> exports = new Dictionary<string, string>();
    private readonly string suffix = Guid.NewGuid().ToString("n")[..5];

    public string Directory { get; }

    public ClusterEnvironment()
    {
        System.IO.Directory.CreateDirectory(CrayEnvironment.TestsDirectory);
        Directory = Path.Combine(CrayEnvironment.TestsDirectory, "cluster-" + suffix);
    }

    /// <summary>Short, so a lost worker is noticed in seconds; long enough that a busy machine's stall of a few seconds loses no lease.</summary>
    public const string LeaseDuration = "15s";

    /// <summary>Only the variables the script reads, so that a caller's CLUSTER_* settings do not leak in.</summary>
    private Dictionary<string, string?> ScriptEnvironment() => new()
    {
        ["CLUSTER_DIR"] = Directory,
        ["CLUSTER_NET"] = $"10.79.{Random.Shared.Next(1, 254)}",
        ["CLUSTER_NAME"] = "c" + suffix,
        ["LEASE_DURATION"] = LeaseDuration,
        ["WORKER_SLOTS"] = "1",
        ["PG_PORT"] = FreeTcpPort.Find().ToString(),
        ["RGW_PORT"] = FreeTcpPort.Find().ToString(),
        ["MON_PORT"] = FreeTcpPort.Find().ToString(),
        ["MON_V2_PORT"] = FreeTcpPort.Find().ToString(),
        ["OSD_PORT_MIN"] = (Random.Shared.Next(200, 320) * 100).ToString(),
        ["OSD_PORT_MAX"] = null,
        ["SERVER_DLL"] = CrayEnvironment.BuiltAssembly("Cray.Server", "cray-server.dll"),
    };

    private Dictionary<string, string?>? environment;

    public string Api1 => exports["CLUSTER_API_1"];

    public string Api2 => exports["CLUSTER_API_2"];

    public string TokenFile => exports["CRAY_CREDENTIALS"];

    public string BaseImageId { get; private set; } = "";

    public string PublicKeyId { get; private set; } = "";

    private string ConfigDirectory(int server) => Path.Combine(Directory, $"cray-config-{server}");

    public async Task InitializeAsync()
    {
        environment = ScriptEnvironment();
        environment["OSD_PORT_MAX"] = (int.Parse(environment["OSD_PORT_MIN"]!) + 99).ToString();
        var started = await ScriptAsync("start");
        Assert.True(started.Succeeded, started.Output);
        exports = ShellExports.Parse(started.Output);
        foreach (var (server, hostname) in new[] { (1, Api1), (2, Api2) })
        {
            Assert.Equal(0, (await CrayEnvironment.CrayWithConfigAsync(ConfigDirectory(server), "init", "--hostname", hostname, "--no-auth")).ExitCode);
        }
        var import = await CrayAsync(1, "ims", "images", "import", "--name", "base", "--rootfs", await JobEnvironment.BaseImagePathAsync(), "--format", "json");
        Assert.True(import.ExitCode == 0, import.Error);
        BaseImageId = (string)JsonNode.Parse(import.Output)!["id"]!;
        var keyFile = Path.Combine(Directory, "user.pub");
        await File.WriteAllTextAsync(keyFile, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX user@host\n");
        var key = await CrayAsync(1, "ims", "public-keys", "create", "--name", "user", "--public-key", keyFile, "--format", "json");
        Assert.True(key.ExitCode == 0, key.Error);
        PublicKeyId = (string)JsonNode.Parse(key.Output)!["id"]!;
    }

    public async Task DisposeAsync()
    {
        var stopped = await ScriptAsync("stop");
        Assert.True(stopped.Succeeded, stopped.Output);
    }

    public Task<ProcessResult> ScriptAsync(params string[] arguments)
        => ProcessRunner.Instance.RunAsync(new ProcessRequest(Path.Combine(CrayEnvironment.RepositoryRoot, "scripts", "cluster.sh"), arguments)
        {
            Environment = environment!,
            Timeout = TimeSpan.FromMinutes(5),
        });

    /// <summary>The built cray against API server 1 or 2, with the cluster's admin token.</summary>
    public Task<CommandResult> CrayAsync(int server, params string[] arguments)
        => CrayEnvironment.CrayWithConfigAsync(ConfigDirectory(server), [.. arguments, "--token", TokenFile]);

    public async Task<JsonNode> JsonAsync(int server, params string[] arguments)
    {
        var result = await CrayAsync(server, [.. arguments, "--format", "json"]);
        Assert.True(result.ExitCode == 0, $"cray {string.Join(' ', arguments)}: {result.Error}");
        return JsonNode.Parse(result.Output)!;
    }

    /// <summary>A layer repository on the host's file system, which every namespace shares.</summary>
    public async Task StoreConfigurationAsync(string name, string playbook)
    {
        var repository = Path.Combine(Directory, "layer-" + name);
        System.IO.Directory.CreateDirectory(repository);
        await File.WriteAllTextAsync(Path.Combine(repository, "site.yml"), playbook);
        await GitRepositories.CommitAllAsync(repository);
        var file = Path.Combine(Directory, name + ".json");
        await File.WriteAllTextAsync(file, $$$"""{"layers":[{"name":"{{{name}}}","clone_url":"{{{repository}}}","branch":"main","playbook":"site.yml"}]}""");
        var update = await CrayAsync(1, "cfs", "v3", "configurations", "update", name, "--file", file);
        Assert.True(update.ExitCode == 0, update.Error);
    }

    public async Task<JsonNode> CreateJobAsync(int server, string imageId)
        => await JsonAsync(server, "ims", "jobs", "create", "--job-type", "customize", "--artifact-id", imageId, "--public-key-id", PublicKeyId,
            "--image-root-archive-name", "cluster-job");

    public static async Task<JsonNode> WaitForAsync(Func<Task<JsonNode?>> read, TimeSpan limit, string what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (await read() is { } found)
            {
                return found;
            }
            Assert.True(DateTime.UtcNow < deadline, $"waited {limit} for {what}");
            await Task.Delay(250);
        }
    }

    public Task<JsonNode> WaitForJobAsync(int server, string jobId, Func<JsonNode, bool> condition, TimeSpan limit, string what)
        => WaitForAsync(async () => await JsonAsync(server, "ims", "jobs", "describe", jobId) is var job && condition(job) ? job : null, limit, what);
}

/// <summary>The cluster scenarios, in one cluster (the tests of a class run one at a time).</summary>
public sealed class ClusterTests(ClusterEnvironment cluster) : IClassFixture<ClusterEnvironment>
{
    [Fact]
    public async Task TheSeedThroughOneAPIServerIsFollowedAndReadThroughTheOther()
    {
        await cluster.StoreConfigurationAsync("configurations-example", await File.ReadAllTextAsync(Path.Combine(CrayEnvironment.RepositoryRoot, "examples", "ansible-example", "site.yml")));
        var created = await cluster.JsonAsync(1, "cfs", "sessions", "create", "--name", "example", "--configuration-name", "configurations-example",
            "--target-definition", "image", "--target-group", "Compute", cluster.BaseImageId);
        Assert.Equal("example", (string?)created["name"]);

        // Followed through the other API server while the runner, in its own namespace, works.
        var follow = await cluster.CrayAsync(2, "cfs", "sessions", "logs", "example", "--follow");
        Assert.True(follow.ExitCode == 0, follow.Error);
        Assert.Contains("Phase packaging images finished in", follow.Output);
        Assert.Contains("changed=5", follow.Output);

        var session = await cluster.JsonAsync(2, "cfs", "sessions", "describe", "example");
        Assert.Equal("true", (string?)session["status"]!["session"]!["succeeded"]);
        var artifact = session["status"]!["artifacts"]![0]!;
        Assert.Equal(cluster.BaseImageId, (string?)artifact["image_id"]);
        Assert.Equal("ims_customized_image", (string?)artifact["type"]);
        var images = await cluster.JsonAsync(2, "ims", "images", "list");
        Assert.Contains(images.AsArray(), image => (string?)image!["id"] == (string?)artifact["result_id"]);
        var job = await cluster.JsonAsync(2, "ims", "jobs", "describe", await ImsJobOfAsync("example"));
        Assert.StartsWith("worker-", (string?)job["remote_build_node"]);
        Assert.StartsWith("10.79.", (string?)job["ssh_containers"]![0]!["connection_info"]!["customer_access"]!["host"]);
    }

    private async Task<string> ImsJobOfAsync(string sessionName)
    {
        var session = await cluster.JsonAsync(2, "cfs", "v3", "sessions", "describe", sessionName);
        return (string)session["status"]!["session"]!["ims_job"]!;
    }

    [Fact]
    public async Task TwoImageSessionsAtOnceRunOnBothWorkers()
    {
        await cluster.StoreConfigurationAsync("slow", "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 3\n");
        foreach (var name in new[] { "parallel-a", "parallel-b" })
        {
            var created = await cluster.CrayAsync(name == "parallel-a" ? 1 : 2, "cfs", "sessions", "create", "--name", name, "--configuration-name", "slow",
                "--target-definition", "image", "--target-group", "Compute", cluster.BaseImageId);
            Assert.True(created.ExitCode == 0, created.Error);
        }
        var nodes = new HashSet<string>();
        foreach (var name in new[] { "parallel-a", "parallel-b" })
        {
            var session = await ClusterEnvironment.WaitForAsync(async () => await cluster.JsonAsync(1, "cfs", "v3", "sessions", "describe", name) is var found
                && (string?)found["status"]!["session"]!["status"] == "complete" ? found : null, TimeSpan.FromMinutes(3), $"session {name} to complete");
            Assert.Equal("true", (string?)session["status"]!["session"]!["succeeded"]);
            nodes.Add((string)(await cluster.JsonAsync(1, "ims", "jobs", "describe", (string)session["status"]!["session"]!["ims_job"]!))["remote_build_node"]!);
        }
        // One job slot each: the two jobs ran at once only because each worker took one.
        Assert.Equal(["worker-1", "worker-2"], nodes.Order());
    }

    [Fact]
    public async Task DeletingARunningSessionThroughTheOtherAPIServerStopsItsAnsibleAndItsJob()
    {
        await cluster.StoreConfigurationAsync("long", "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 300\n");
        Assert.Equal(0, (await cluster.CrayAsync(1, "cfs", "sessions", "create", "--name", "doomed", "--configuration-name", "long",
            "--target-definition", "image", "--target-group", "Compute", cluster.BaseImageId)).ExitCode);
        await ClusterEnvironment.WaitForAsync(async () => (await cluster.CrayAsync(2, "cfs", "sessions", "logs", "doomed")).Output.Contains("Phase layer 0 (long) started")
            && JobEnvironment.ProcessesFor("sleep 300").Count > 0 ? new JsonObject() : null, TimeSpan.FromMinutes(2), "the layer to run");
        var imsJob = await ImsJobOfAsync("doomed");

        Assert.Equal(0, (await cluster.CrayAsync(2, "cfs", "sessions", "delete", "doomed")).ExitCode);
        // Bounded generously: on two busy cores, with other test classes running beside it, 30 s was once not enough.
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var left = string.Join(", ", new[]
            {
                JobEnvironment.ProcessesFor("sleep 300").Count > 0 ? "the playbook's sleep" : null,
                JobEnvironment.ProcessesFor("/sessions/doomed").Count > 0 ? "a process of the session's directory" : null,
                (await cluster.CrayAsync(1, "ims", "jobs", "describe", imsJob)).ExitCode == 0 ? $"the IMS job {imsJob}" : null,
            }.OfType<string>());
            if (left.Length == 0)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"90 s after the delete, still there: {left}");
            await Task.Delay(250);
        }
        Assert.Empty(JobEnvironment.ProcessesFor(imsJob));
    }

    [Fact]
    public async Task AWorkerKilledMidJobLeavesTheOtherWorkingItsJobEndsWhenItsLeaseExpiresAndARestartTakesNewWork()
    {
        var jobs = new List<string>();
        try
        {
            await KillAWorkerMidJobAsync(jobs);
        }
        finally
        {
            // One slot per worker: a job left waiting, or a worker left down, would hold up the other tests.
            foreach (var job in jobs)
            {
                await cluster.CrayAsync(1, "ims", "jobs", "delete", job);
            }
            foreach (var worker in new[] { "worker-1", "worker-2" })
            {
                await cluster.ScriptAsync("run", worker);
            }
        }
    }

    private async Task KillAWorkerMidJobAsync(List<string> jobs)
    {
        var first = (string)(await cluster.CreateJobAsync(1, cluster.BaseImageId))["id"]!;
        jobs.Add(first);
        var waiting = await cluster.WaitForJobAsync(2, first, job => (string?)job["status"] == "waiting_on_user", TimeSpan.FromMinutes(1), "the first job to wait on its user");
        var lost = (string)waiting["remote_build_node"]!;
        var other = lost == "worker-1" ? "worker-2" : "worker-1";
        var second = (string)(await cluster.CreateJobAsync(2, cluster.BaseImageId))["id"]!;
        jobs.Add(second);
        var secondWaiting = await cluster.WaitForJobAsync(1, second, job => (string?)job["status"] == "waiting_on_user", TimeSpan.FromMinutes(1), "the second job to wait");
        Assert.Equal(other, (string?)secondWaiting["remote_build_node"]);

        var killed = await cluster.ScriptAsync("kill", lost);
        Assert.True(killed.Succeeded, killed.Output);
        await cluster.WaitForJobAsync(1, first, job => (string?)job["status"] == "error", TimeSpan.FromSeconds(90), "the lost worker's job to end");
        // The other worker writes the reason just after the status.
        await ClusterEnvironment.WaitForAsync(async () => (await cluster.CrayAsync(2, "ims", "jobs", "logs", first)).Output
            .Contains($"worker {lost} stopped while the job was waiting_on_user (its lease expired at") ? new JsonObject() : null,
            TimeSpan.FromSeconds(20), "the job's log to give the reason");
        Assert.Equal("waiting_on_user", (string?)(await cluster.JsonAsync(2, "ims", "jobs", "describe", second))["status"]);
        var status = await cluster.JsonAsync(1, "ims", "remote-build-nodes", "status", "describe", lost);
        Assert.False((bool)status["ableToRunJobs"]!);
        Assert.Equal(-1, (int)status["numCurrentJobs"]!);

        var restarted = await cluster.ScriptAsync("run", lost);
        Assert.True(restarted.Succeeded, restarted.Output);
        // The other worker's one slot is taken, so only the restarted one can take this job.
        var third = (string)(await cluster.CreateJobAsync(1, cluster.BaseImageId))["id"]!;
        jobs.Add(third);
        var thirdWaiting = await cluster.WaitForJobAsync(2, third, job => (string?)job["status"] == "waiting_on_user", TimeSpan.FromMinutes(1), "the restarted worker to take new work");
        Assert.Equal(lost, (string?)thirdWaiting["remote_build_node"]);
    }

    [Fact]
    public async Task AnAarch64JobWaitsForAnAarch64WorkerAndSaysSo()
    {
        var import = await cluster.JsonAsync(2, "ims", "images", "import", "--name", "arm", "--arch", "aarch64", "--rootfs", await JobEnvironment.BaseImagePathAsync());
        var job = (string)(await cluster.CreateJobAsync(2, (string)import["id"]!))["id"]!;
        await ClusterEnvironment.WaitForAsync(async () => (await cluster.CrayAsync(1, "ims", "jobs", "logs", job)).Output.Contains("Waiting: no live ims-worker builds aarch64")
            ? new JsonObject() : null, TimeSpan.FromSeconds(30), "the job's log to say why it waits");
        var log = (await cluster.CrayAsync(1, "ims", "jobs", "logs", job)).Output;
        Assert.Contains("(live workers: worker-1 (x86_64), worker-2 (x86_64))", log);
        var described = await cluster.JsonAsync(1, "ims", "jobs", "describe", job);
        Assert.Equal("creating", (string?)described["status"]);
        Assert.Equal("", (string?)described["remote_build_node"]);
        Assert.Equal(0, (await cluster.CrayAsync(1, "ims", "jobs", "delete", job)).ExitCode);
    }

    [Fact]
    public async Task TheReferenceCLIsRemoteBuildNodeCommandsWork()
    {
        Assert.Equal("worker-1", (string?)(await cluster.JsonAsync(1, "ims", "remote-build-nodes", "create", "--xname", "worker-1"))["xname"]);
        Assert.Equal(0, (await cluster.CrayAsync(2, "ims", "remote-build-nodes", "create", "--xname", "x3000c0s9b0n0")).ExitCode);
        var listed = await cluster.JsonAsync(2, "ims", "remote-build-nodes", "list");
        Assert.Equal(["worker-1", "x3000c0s9b0n0"], listed.AsArray().Select(node => (string)node!["xname"]!).Order());
        Assert.Equal("worker-1", (string?)(await cluster.JsonAsync(2, "ims", "remote-build-nodes", "describe", "worker-1"))["xname"]);

        var statuses = (await cluster.JsonAsync(1, "ims", "remote-build-nodes", "status", "list")).AsArray();
        var names = statuses.Select(node => (string)node!["xname"]!).ToList();
        Assert.Equal(["worker-1", "x3000c0s9b0n0"], names.Take(2).Order());
        Assert.Contains("worker-2", names);
        var never = statuses.Single(node => (string?)node!["xname"] == "x3000c0s9b0n0")!;
        Assert.Equal(-1, (int)never["numCurrentJobs"]!);
        var live = await cluster.JsonAsync(2, "ims", "remote-build-nodes", "status", "describe", "worker-2");
        Assert.Equal("x86_64", (string?)live["nodeArch"]);
        Assert.StartsWith("Live: the ims-worker reported", (string?)live["sshStatus"]);

        Assert.Equal(0, (await cluster.CrayAsync(1, "ims", "remote-build-nodes", "delete", "x3000c0s9b0n0")).ExitCode);
        var missing = await cluster.CrayAsync(2, "ims", "remote-build-nodes", "describe", "x3000c0s9b0n0");
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal(0, (await cluster.CrayAsync(2, "ims", "remote-build-nodes", "deleteall")).ExitCode);
        Assert.Equal("[]", (await cluster.JsonAsync(1, "ims", "remote-build-nodes", "list")).ToJsonString());
    }
}
