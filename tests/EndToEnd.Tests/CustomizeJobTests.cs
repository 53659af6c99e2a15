using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// The documented "Customize an Image Root Using IMS", by hand with our CLI and the system ssh,
/// against the real sshd jail and squashfs-tools. Needs root, as the worker does.
/// </summary>
public sealed class CustomizeJobTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    private async Task<JsonArray> ImagesAsync()
        => JsonNode.Parse((await Cray.CrayAsync("ims", "images", "list", "--format", "json")).Output)!.AsArray();

    [Fact]
    public async Task JailedCustomizationProducesANewImageWithTheChangeAndLeavesTheSourceUntouched()
    {
        var job = await environment.CreateJobAsync("customized-by-hand");
        var jobId = (string)job["id"]!;
        Assert.Equal("creating", (string?)job["status"]);
        Assert.Null(job["resultant_image_id"]);

        var waiting = await environment.WaitAsync(jobId, until: "waiting_on_user");
        Assert.Equal("waiting_on_user", (string?)waiting["status"]);
        var port = JobEnvironment.SshPort(waiting);
        Assert.Equal("127.0.0.1", (string?)waiting["ssh_containers"]![0]!["connection_info"]!["cluster.local"]!["host"]);

        var change = await environment.SshAsync(port, "echo customized > /etc/cray-test-marker && touch /tmp/complete");
        Assert.True(change.Succeeded, change.Output);

        var done = await environment.WaitAsync(jobId);
        Assert.Equal("success", (string?)done["status"]);
        var resultId = (string)done["resultant_image_id"]!;
        var result = JsonNode.Parse((await Cray.CrayAsync("ims", "images", "describe", resultId, "--format", "json")).Output)!;
        Assert.Equal("customized-by-hand", (string?)result["name"]);
        Assert.Equal("x86_64", (string?)result["arch"]);
        Assert.Empty(result["metadata"]!.AsObject());

        var rootfs = Path.Combine(Cray.Root, "result.squashfs");
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{resultId}/rootfs", rootfs)).ExitCode);
        var marker = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, "etc/cray-test-marker"]));
        Assert.Equal("customized", marker.Output.Trim());
        var listing = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-ls", rootfs]));
        Assert.DoesNotContain("tmp/complete", listing.Output);

        // The source image is byte-for-byte what it was.
        Assert.Equal(environment.BaseRootfsMd5, await environment.RootfsMd5Async(environment.BaseImageId));
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
        Assert.False(JobEnvironment.SshdRunningFor(jobId));

        var log = await Cray.CrayAsync("ims", "jobs", "logs", jobId);
        Assert.Contains("Phase fetching_image finished", log.Output);
        Assert.Contains("Phase packaging_artifacts finished", log.Output);
    }

    [Fact]
    public async Task NothingOutsideTheImageRootIsVisibleFromTheJail()
    {
        var job = await environment.CreateJobAsync("jail-check");
        var jobId = (string)job["id"]!;
        var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
        try
        {
            // What the jail shows as / is the source image's root (plus the jail's /tmp), listed from its squashfs.
            var inside = await environment.SshAsync(port, "ls -a / && echo --- && ls -a /.. && echo --- && ls /proc | grep -c '^[0-9]'");
            Assert.True(inside.Succeeded, inside.Output);
            var parts = inside.Output.Split("---\n");
            var listing = await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("unsquashfs", ["-l", "-max-depth", "1", await JobEnvironment.BaseImagePathAsync()]));
            var outside = listing.Output.Split('\n').Where(line => line.StartsWith("squashfs-root/", StringComparison.Ordinal) && line.Count(c => c == '/') == 1)
                .Select(line => line["squashfs-root/".Length..]).Append("tmp").Distinct().Order(StringComparer.Ordinal).ToList();
            // The image root is mounted in the job's own mount namespace: on the host its directory is empty.
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(environment.JobDirectory(jobId), "image-root")));
            var shown = parts[0].Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(name => name is not "." and not "..").Order(StringComparer.Ordinal).ToList();
            Assert.Equal(outside, shown);
            Assert.Equal(parts[0], parts[1]);
            // The jail's own /proc: its few processes, none of the host's.
            Assert.InRange(int.Parse(parts[2].Trim(), System.Globalization.CultureInfo.InvariantCulture), 1, 20);

            // The server's data directory, the job directory and a file of the host are not there.
            var hostMarker = Path.Combine(Cray.Root, $"host-only-{Guid.NewGuid():n}");
            await File.WriteAllTextAsync(hostMarker, "host");
            var probes = await environment.SshAsync(port,
                $"for path in {Cray.DataDirectory} {environment.JobDirectory(jobId)} /var/lib/cray-tests {hostMarker} /work; do test -e $path && echo visible $path; done; echo done");
            Assert.Equal("done", probes.Output.Trim());
        }
        finally
        {
            await environment.SshAsync(port, "touch /tmp/failed");
            await environment.WaitAsync(jobId);
        }
    }

    [Fact]
    public async Task FailedSignalEndsInErrorWithNoNewImage()
    {
        var before = (await ImagesAsync()).Count;
        var job = await environment.CreateJobAsync("should-not-exist");
        var jobId = (string)job["id"]!;
        var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
        await environment.SshCheckedAsync(port, "touch /tmp/failed");

        var wait = await Cray.CrayAsync("ims", "jobs", "wait", jobId, "--timeout", "5m", "--format", "json");
        Assert.Equal(1, wait.ExitCode);
        var done = JsonNode.Parse(wait.Output)!;
        Assert.Equal("error", (string?)done["status"]);
        Assert.Null(done["resultant_image_id"]);
        Assert.Equal(before, (await ImagesAsync()).Count);
        Assert.DoesNotContain(await ImagesAsync(), image => (string?)image!["name"] == "should-not-exist");
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
        Assert.False(JobEnvironment.SshdRunningFor(jobId));
        Assert.Contains("The user signalled failure", (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output);
    }

    [Fact]
    public async Task DeletingAWaitingJobStopsSshdAndRemovesEverything()
    {
        var job = await environment.CreateJobAsync("deleted-while-waiting");
        var jobId = (string)job["id"]!;
        var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
        Assert.True(JobEnvironment.SshdRunningFor(jobId));

        Assert.Equal(0, (await Cray.CrayAsync("ims", "jobs", "delete", jobId)).ExitCode);
        Assert.False(JobEnvironment.SshdRunningFor(jobId));
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
        Assert.Equal(2, (await Cray.CrayAsync("ims", "jobs", "describe", jobId)).ExitCode);
        var refused = await environment.SshAsync(port, "true");
        Assert.False(refused.Succeeded);
    }

    [Fact]
    public async Task WithoutAJailTheUserLandsInASandboxWithTheHostsProgramsAndSignalsInTheJobDirectory()
    {
        var job = await environment.CreateJobAsync("unjailed", jail: false);
        var jobId = (string)job["id"]!;
        var waiting = await environment.WaitAsync(jobId, until: "waiting_on_user");
        var port = JobEnvironment.SshPort(waiting);
        var imageRoot = Path.Combine(environment.JobDirectory(jobId), "image-root");
        Assert.Equal(imageRoot, (string?)waiting["ssh_containers"]![0]!["image_root"]);
        // The host's programs are there (read-only); the data directory beyond the job is not.
        var probes = await environment.SshAsync(port, $"test -x /usr/sbin/sshd && echo programs; test -e {Path.Combine(Cray.DataDirectory, "cray.db")} && echo database; touch /usr/bin/planted || echo read-only");
        Assert.Contains("programs", probes.Output);
        Assert.Contains("read-only", probes.Output);
        Assert.DoesNotContain("database", probes.Output);
        var result = await environment.SshAsync(port, $"test -d {imageRoot} && echo from-host > {imageRoot}/etc/unjailed-marker && touch {environment.JobDirectory(jobId)}/complete");
        Assert.True(result.Succeeded, result.Output);
        var done = await environment.WaitAsync(jobId);
        Assert.Equal("success", (string?)done["status"]);
        Assert.Contains(imageRoot, (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output);
    }

    [Fact]
    public async Task KernelAndInitrdOfTheSourceAreCarriedOverWhenTheImageRootHasNone()
    {
        var kernel = Path.Combine(Cray.Root, "vmlinuz");
        var initrd = Path.Combine(Cray.Root, "initrd");
        await File.WriteAllTextAsync(kernel, "kernel bytes");
        await File.WriteAllTextAsync(initrd, "initrd bytes");
        var imported = await Cray.CrayAsync("ims", "images", "import", "--name", "bootable", "--rootfs", await JobEnvironment.BaseImagePathAsync(),
            "--kernel", kernel, "--initrd", initrd, "--format", "json");
        Assert.True(imported.ExitCode == 0, imported.Error);
        var sourceId = (string)JsonNode.Parse(imported.Output)!["id"]!;

        var jobId = (string)(await environment.CreateJobAsync("bootable-customized", imageId: sourceId))["id"]!;
        var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
        await environment.SshCheckedAsync(port, "touch /tmp/complete");
        var resultId = (string)(await environment.WaitAsync(jobId))["resultant_image_id"]!;

        var copy = Path.Combine(Cray.Root, "carried-kernel");
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{resultId}/kernel", copy)).ExitCode);
        Assert.Equal("kernel bytes", await File.ReadAllTextAsync(copy));
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "describe", "boot-images", $"{resultId}/initrd")).ExitCode);
    }

    [Fact]
    public async Task TwoJobsRunAtOnceAndOnesFailureLeavesTheOtherAlone()
    {
        var failing = (string)(await environment.CreateJobAsync("parallel-failing"))["id"]!;
        var passing = (string)(await environment.CreateJobAsync("parallel-passing"))["id"]!;
        var failingPort = JobEnvironment.SshPort(await environment.WaitAsync(failing, until: "waiting_on_user"));
        var passingPort = JobEnvironment.SshPort(await environment.WaitAsync(passing, until: "waiting_on_user"));
        Assert.NotEqual(failingPort, passingPort);

        // Follow the passing job's log while it runs: the command must end by itself when the job does.
        var follow = Cray.CrayAsync("ims", "jobs", "logs", passing, "--follow");
        await environment.SshCheckedAsync(failingPort, "touch /tmp/failed");
        Assert.Equal("error", (string?)(await environment.WaitAsync(failing))["status"]);
        Assert.Equal("waiting_on_user", (string?)JsonNode.Parse((await Cray.CrayAsync("ims", "jobs", "describe", passing, "--format", "json")).Output)!["status"]);
        await environment.SshCheckedAsync(passingPort, "echo ok > /etc/parallel && touch /tmp/complete");
        Assert.Equal("success", (string?)(await environment.WaitAsync(passing))["status"]);
        var followed = await follow.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, followed.ExitCode);
        Assert.Contains($"Success: image", followed.Output);
    }

    [Fact]
    public async Task RequireDkmsMountsProcSysAndDevWhileServedAndNothingAfter()
    {
        var jobId = (string)(await environment.CreateJobAsync("with-dkms", extra: ["--require-dkms", "true"]))["id"]!;
        var waiting = await environment.WaitAsync(jobId, until: "waiting_on_user");
        Assert.True((bool)waiting["require_dkms"]!);
        var port = JobEnvironment.SshPort(waiting);
        var inside = await environment.SshAsync(port, "test -e /proc/self/status && test -d /sys/kernel && test -e /dev/null && echo mounted; env | grep IMS_DKMS_ENABLED");
        Assert.Contains("mounted", inside.Output);
        Assert.Contains("IMS_DKMS_ENABLED=True", inside.Output);
        await environment.SshCheckedAsync(port, "touch /tmp/complete");
        var done = await environment.WaitAsync(jobId);
        Assert.Equal("success", (string?)done["status"]);
        Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), line => line.Contains(environment.JobDirectory(jobId), StringComparison.Ordinal));

        var rootfs = Path.Combine(Cray.Root, "dkms.squashfs");
        await Cray.CrayAsync("artifacts", "get", "boot-images", $"{(string)done["resultant_image_id"]!}/rootfs", rootfs);
        var listing = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-ls", rootfs, "proc/self"]));
        Assert.DoesNotContain("proc/self/status", listing.Output);
    }
}

/// <summary>A server whose jobs wait only briefly for the user.</summary>
public sealed class ShortWaitJobEnvironment : JobEnvironment
{
    protected override string[] ServerArguments => ["--ims-user-wait-timeout", "3s"];
}

public sealed class UserWaitTimeoutTests(ShortWaitJobEnvironment environment) : IClassFixture<ShortWaitJobEnvironment>
{
    [Fact]
    public async Task AJobNobodySignalsEndsInErrorAfterTheTimeout()
    {
        var jobId = (string)(await environment.CreateJobAsync("nobody-came"))["id"]!;
        var done = await environment.WaitAsync(jobId);
        Assert.Equal("error", (string?)done["status"]);
        Assert.Contains("No complete or failed signal within", (await environment.Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output);
        Assert.False(JobEnvironment.SshdRunningFor(jobId));
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
    }
}
