using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// The documented "Upload and Register an Image Recipe" and "Build an Image Using IMS", command for
/// command: a Debian kiwi-ng recipe with a template dictionary, built by the real kiwi-ng.
/// </summary>
public sealed class RecipeBuildJobTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    /// <summary>
    /// kiwi runs a recipe's config.sh as root in the image root once the packages are in: image
    /// code. This one climbs out of kiwi's chroot (python3 is in the image) and tries the host from
    /// the build's sandbox, writing what it managed into the image, where the test reads it.
    /// </summary>
    private static string EscapingConfigScript(string hostSecret) => $$"""
        #!/bin/bash
        chown 1234:2345 /etc/cray-site
        exec python3 - <<'PYTHON'
        import os
        report = open("/etc/cray-build-probe", "w")
        def attempt(name, action):
            try:
                action()
                report.write(name + ": done\n")
            except OSError as error:
                report.write(name + ": refused " + error.__class__.__name__ + "\n")
        report.write("uid: %d\n" % os.getuid())
        os.makedirs("/tmp/climb", exist_ok=True)
        os.chroot("/tmp/climb")
        for _ in range(64):
            os.chdir("..")
        os.chroot(".")
        report.write("outside the chroot: %s\n" % os.path.exists("/usr/bin/kiwi-ng"))
        attempt("read the host's secret", lambda: open("{{hostSecret}}").read())
        attempt("write the host's /usr", lambda: open("/usr/lib/cray-build-probe", "w").close())
        def remount_and_write():
            if os.system("mount -o remount,bind,rw /usr 2>/dev/null") != 0:
                raise PermissionError("remount")
            open("/usr/lib/cray-build-probe", "w").close()
        attempt("remount /usr and write it", remount_and_write)
        attempt("write core_pattern", lambda: open("/proc/sys/kernel/core_pattern", "w").write("|/bin/false"))
        attempt("make a block device", lambda: os.mknod("/tmp/disk", 0o600 | 0o60000, os.makedev(8, 0)))
        report.write("processes: %d\n" % len([entry for entry in os.listdir("/proc") if entry.isdigit()]))
        report.close()
        PYTHON
        """;

    private async Task<JsonNode> CrayJsonAsync(params string[] arguments)
    {
        var result = await Cray.CrayAsync([.. arguments, "--format", "json"]);
        Assert.True(result.ExitCode == 0, $"cray {string.Join(' ', arguments)}: {result.Error}");
        return JsonNode.Parse(result.Output)!;
    }

    [Fact]
    public async Task AFailedBuildWithEnableDebugOpensAShellThenEndsInErrorLeavingNothing()
    {
        // Not a kiwi description kiwi accepts (no <description>, no <preferences>): kiwi-ng fails at once.
        var recipeId = await KiwiRecipes.RegisterAsync(Cray, await KiwiRecipes.ArchiveAsync(Cray, "broken", """<?xml version="1.0"?><image schemaversion="7.4" name="broken"/>"""));
        var imagesBefore = (await CrayJsonAsync("ims", "images", "list")).AsArray().Count;
        var job = await CrayJsonAsync("ims", "jobs", "create", "--job-type", "create", "--artifact-id", recipeId,
            "--public-key-id", environment.PublicKeyId, "--image-root-archive-name", "never", "--enable-debug", "true");
        var jobId = (string)job["id"]!;
        Assert.Equal("debug", (string?)job["ssh_containers"]![0]!["name"]);

        var waiting = await environment.WaitAsync(jobId, until: "waiting_on_user");
        Assert.Equal("waiting_on_user", (string?)waiting["status"]);
        await environment.SshCheckedAsync(JobEnvironment.SshPort(waiting), $"touch {environment.JobDirectory(jobId)}/complete");
        var finished = await environment.WaitAsync(jobId);
        Assert.Equal("error", (string?)finished["status"]);
        Assert.Null(finished["resultant_image_id"]);

        var log = (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output;
        Assert.Contains("kiwi-ng system prepare failed with exit code", log);
        Assert.Contains("enable_debug: the build environment stays up for debugging", log);
        Assert.Equal(imagesBefore, (await CrayJsonAsync("ims", "images", "list")).AsArray().Count);
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
        Assert.False(JobEnvironment.SshdRunningFor(jobId));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DeletingAJobOrCrashingWhileKiwiBuildsStopsKiwiAndLeavesNoMountOrDirectory(bool crash)
    {
        var recipeId = await KiwiRecipes.RegisterAsync(Cray, await KiwiRecipes.ArchiveAsync(Cray, crash ? "crashed-while-building" : "deleted-while-building"));
        var job = await CrayJsonAsync("ims", "jobs", "create", "--job-type", "create", "--artifact-id", recipeId,
            "--public-key-id", environment.PublicKeyId, "--image-root-archive-name", "never-finished");
        var jobId = (string)job["id"]!;
        Assert.Equal("building_image", (string?)(await environment.WaitAsync(jobId, until: "building_image"))["status"]);
        // Let kiwi get into its bootstrap, with its bind mounts in the image root.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output.Contains("Installing bootstrap packages") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        if (crash)
        {
            Cray.CrashServer();
            await Cray.StartServerAsync();
            Assert.Equal("error", (string?)(await environment.WaitAsync(jobId))["status"]);
        }
        else
        {
            Assert.Equal(0, (await Cray.CrayAsync("ims", "jobs", "delete", jobId)).ExitCode);
        }
        var directory = environment.JobDirectory(jobId);
        deadline = DateTime.UtcNow.AddSeconds(60);
        while (Directory.Exists(directory) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }
        Assert.False(Directory.Exists(directory));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), line => line.Contains(directory, StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc"), process =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(process, "cmdline")).Contains(directory, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        });
    }

    [Fact]
    public async Task ARecipeIsBuiltWithKiwiInASandboxIntoARegisteredImage()
    {
        var hostSecret = Path.Combine(Cray.Root, "host-secret");
        await File.WriteAllTextAsync(hostSecret, "host secret\n");
        File.SetUnixFileMode(hostSecret, UnixFileMode.UserRead);
        var corePattern = await File.ReadAllTextAsync("/proc/sys/kernel/core_pattern");
        var recipeId = await KiwiRecipes.RegisterAsync(Cray, await KiwiRecipes.ArchiveAsync(Cray, configScript: EscapingConfigScript(hostSecret)));

        var job = await CrayJsonAsync("ims", "jobs", "create", "--job-type", "create", "--artifact-id", recipeId,
            "--public-key-id", environment.PublicKeyId, "--image-root-archive-name", "debian-built");
        var jobId = (string)job["id"]!;
        Assert.Null(job["ssh_containers"]);
        var wait = await Cray.CrayAsync("ims", "jobs", "wait", jobId, "--timeout", "15m", "--format", "json");
        var log = (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output;
        Assert.True(wait.ExitCode == 0, log);
        var finished = JsonNode.Parse(wait.Output)!;
        Assert.Equal("success", (string?)finished["status"]);
        foreach (var phase in new[] { "fetching_recipe", "waiting_for_repos", "building_image", "packaging_artifacts" })
        {
            Assert.Contains($"Phase {phase} finished in", log);
        }
        Assert.Contains("the template dictionary (2 keys) filled in 2 files", log);
        Assert.Contains("Repository http://deb.debian.org/debian: answers", log);

        var resultId = (string)finished["resultant_image_id"]!;
        var image = await CrayJsonAsync("ims", "images", "describe", resultId);
        Assert.Equal("debian-built", (string?)image["name"]);
        var rootfs = Path.Combine(Cray.Root, "built.squashfs");
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{resultId}/rootfs", rootfs)).ExitCode);
        var marker = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, "etc/cray-site"]));
        Assert.Equal("built for hpc-test", marker.Output.Trim());
        var listing = await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("unsquashfs", ["-l", rootfs, "usr/bin"]));
        Assert.Contains("python3", listing.Output);

        // The build ran as root in the image (owners as built, set by root at will) but could not reach the host.
        var probe = (await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, "etc/cray-build-probe"]))).Output;
        Assert.Contains("uid: 0", probe);
        Assert.Contains("outside the chroot: True", probe);
        foreach (var attempt in new[] { "read the host's secret", "write the host's /usr", "remount /usr and write it", "write core_pattern", "make a block device" })
        {
            Assert.Contains($"{attempt}: refused", probe);
        }
        Assert.False(File.Exists("/usr/lib/cray-build-probe"));
        Assert.Equal(corePattern, await File.ReadAllTextAsync("/proc/sys/kernel/core_pattern"));
        var owners = new Dictionary<string, string>();
        var lines = new List<string>();
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("unsquashfs", ["-lln", rootfs]) { OutputLine = lines.Add });
        foreach (var fields in lines
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields.Any(field => field.StartsWith("squashfs-root", StringComparison.Ordinal))))
        {
            // Owner is the second field; device nodes add "major, minor" before the date, links "-> target" after the name.
            owners[fields.First(field => field.StartsWith("squashfs-root", StringComparison.Ordinal))] = fields[1];
        }
        Assert.Equal("1234/2345", owners["squashfs-root/etc/cray-site"]);
        Assert.Equal("0/0", owners["squashfs-root/usr/bin"]);
        Assert.All(owners.Values, owner => Assert.True(owner.Split('/').All(id => uint.Parse(id) < 65536), owner));
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), line => line.Contains(environment.JobDirectory(jobId), StringComparison.Ordinal));
    }
}
