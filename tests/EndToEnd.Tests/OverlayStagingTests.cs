using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// Customize jobs stage the source without unpacking it (overlay over the mounted squashfs): what
/// the user changes comes through exactly, what they delete is gone, the rest is the source's, and
/// the source itself is never touched.
/// </summary>
public sealed class OverlayStagingTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    private static async Task<string> RunAsync(string program, params string[] arguments)
        => (await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest(program, arguments) { Timeout = TimeSpan.FromMinutes(5) })).Output;

    /// <summary>The base image plus device nodes, hard links, a set-user-id program and a few files to change.</summary>
    private async Task<(string ImageId, string Md5)> ImportSpecialSourceAsync()
    {
        var rootfs = Path.Combine(Cray.Root, "special-source");
        await RunAsync("unsquashfs", "-q", "-d", rootfs, await JobEnvironment.BaseImagePathAsync());
        var srv = Path.Combine(rootfs, "srv");
        await File.WriteAllTextAsync(Path.Combine(srv, "hard-a"), "linked\n");
        await RunAsync("ln", Path.Combine(srv, "hard-a"), Path.Combine(srv, "hard-b"));
        await File.WriteAllTextAsync(Path.Combine(srv, "pair-a"), "pair\n");
        await RunAsync("ln", Path.Combine(srv, "pair-a"), Path.Combine(srv, "pair-b"));
        await RunAsync("mknod", Path.Combine(srv, "null"), "c", "1", "3");
        await RunAsync("mknod", Path.Combine(srv, "loop"), "b", "7", "0");
        File.Copy(Path.Combine(rootfs, "usr", "bin", "true"), Path.Combine(rootfs, "usr", "bin", "setuid-true"));
        File.SetUnixFileMode(Path.Combine(rootfs, "usr", "bin", "setuid-true"), (UnixFileMode)Convert.ToInt32("4755", 8));
        Directory.CreateDirectory(Path.Combine(srv, "directory"));
        await File.WriteAllTextAsync(Path.Combine(srv, "directory", "inside"), "inside\n");
        await File.WriteAllTextAsync(Path.Combine(srv, "deleted"), "deleted\n");
        var imported = await Cray.CrayAsync("ims", "images", "import", "--name", "special", "--rootfs", rootfs, "--format", "json");
        Assert.True(imported.ExitCode == 0, imported.Error);
        Directory.Delete(rootfs, recursive: true);
        var imageId = (string)JsonNode.Parse(imported.Output)!["id"]!;
        return (imageId, await environment.RootfsMd5Async(imageId));
    }

    [Fact]
    public async Task EveryKindOfChangeComesThroughExactlyAndTheSourceStaysByteIdentical()
    {
        var (imageId, md5) = await ImportSpecialSourceAsync();
        var jobId = (string)(await environment.CreateJobAsync("overlay-changes", imageId: imageId))["id"]!;
        var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
        await environment.SshCheckedAsync(port, string.Join(" && ",
            "rm /srv/deleted",
            "rm -r /srv/directory && echo now-a-file > /srv/directory",
            "ln /srv/hard-a /srv/hard-c",
            "echo changed >> /srv/pair-a",
            "cp /usr/bin/true /usr/bin/cap-true",
            "python3 -c \"import os; os.setxattr('/srv/hard-a', 'user.note', b'kept'); os.setxattr('/usr/bin/cap-true', 'security.capability', bytes.fromhex('0100000200200000000000000000000000000000'))\"",
            "touch /tmp/complete"));
        var done = await environment.WaitAsync(jobId);
        Assert.Equal("success", (string?)done["status"]);
        var log = (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output;
        Assert.Contains("nothing was unpacked", log);
        // Packed from the source's stored blocks and the overlay's changes, not by mksquashfs.
        Assert.Contains("Packed incrementally in ", log);

        var rootfs = Path.Combine(Cray.Root, "overlay-changes.squashfs");
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{(string)done["resultant_image_id"]!}/rootfs", rootfs)).ExitCode);
        // Only the parts that matter: the runner keeps the last 16 KB of a program's output.
        var listing = (await RunAsync("unsquashfs", "-lln", rootfs, "srv", "usr/bin/setuid-true")).Split('\n');
        string Entry(string path) => Assert.Single(listing, line => line.EndsWith("squashfs-root/" + path, StringComparison.Ordinal));
        Assert.DoesNotContain(listing, line => line.EndsWith("srv/deleted", StringComparison.Ordinal));
        Assert.DoesNotContain(listing, line => line.Contains("srv/directory/", StringComparison.Ordinal));
        Assert.StartsWith("-rw-r--r--", Entry("srv/directory"));
        Assert.Matches(@"^crw-r--r-- 0/0\s+1,\s+3 ", Entry("srv/null"));
        Assert.Matches(@"^brw-r--r-- 0/0\s+7,\s+0 ", Entry("srv/loop"));
        Assert.StartsWith("-rwsr-xr-x", Entry("usr/bin/setuid-true"));
        // No whiteout (a 0/0 character device) of the overlay leaks into the image.
        Assert.DoesNotContain(listing, line => line.StartsWith('c') && line.Contains(" 0,  0 ", StringComparison.Ordinal));

        var extracted = Path.Combine(Cray.Root, "overlay-changes");
        await RunAsync("unsquashfs", "-q", "-d", extracted, rootfs, "srv", "usr/bin/cap-true");
        var srv = Path.Combine(extracted, "srv");
        var inodes = await RunAsync("stat", "--format=%n %i %h", Path.Combine(srv, "hard-a"), Path.Combine(srv, "hard-b"), Path.Combine(srv, "hard-c"),
            Path.Combine(srv, "pair-a"), Path.Combine(srv, "pair-b"));
        var byName = inodes.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')).ToDictionary(fields => Path.GetFileName(fields[0]), fields => (Inode: fields[1], Links: fields[2]));
        Assert.Equal(byName["hard-a"].Inode, byName["hard-b"].Inode);
        Assert.Equal(byName["hard-a"].Inode, byName["hard-c"].Inode);
        Assert.Equal("3", byName["hard-a"].Links);
        Assert.Equal(byName["pair-a"].Inode, byName["pair-b"].Inode);
        Assert.Equal("pair\nchanged\n", await File.ReadAllTextAsync(Path.Combine(srv, "pair-b")));
        Assert.Equal("now-a-file\n", await File.ReadAllTextAsync(Path.Combine(srv, "directory")));
        Assert.Contains("kept", await RunAsync("python3", "-c", $"import os; print(os.getxattr('{Path.Combine(srv, "hard-a")}', 'user.note').decode())"));
        Assert.Contains("cap_net_raw=ep", await RunAsync("getcap", Path.Combine(extracted, "usr", "bin", "cap-true")));

        Assert.Equal(md5, await environment.RootfsMd5Async(imageId));
    }

    [Fact]
    public async Task TwoJobsOnOneImageShareOneSourceAndLeaveNoMountOrLoopDevice()
    {
        var first = (string)(await environment.CreateJobAsync("shared-first"))["id"]!;
        var second = (string)(await environment.CreateJobAsync("shared-second"))["id"]!;
        var firstPort = JobEnvironment.SshPort(await environment.WaitAsync(first, until: "waiting_on_user"));
        var secondPort = JobEnvironment.SshPort(await environment.WaitAsync(second, until: "waiting_on_user"));
        var source = Path.Combine(Cray.DataDirectory, "artifacts", "buckets", "boot-images", environment.BaseImageId, "rootfs");
        try
        {
            // Both mount the stored object itself (mount reuses one read-only loop device for it).
            Assert.Contains(source, await LoopBackingFilesAsync());
            Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), line => line.Contains(Cray.DataDirectory, StringComparison.Ordinal));
        }
        catch
        {
            // A failed check must not leave both worker slots taken.
            await environment.SshAsync(firstPort, "touch /tmp/failed");
            await environment.SshAsync(secondPort, "touch /tmp/failed");
            throw;
        }
        await environment.SshCheckedAsync(firstPort, "echo one > /etc/shared && touch /tmp/complete");
        await environment.SshCheckedAsync(secondPort, "echo two > /etc/shared && touch /tmp/complete");
        Assert.Equal("success", (string?)(await environment.WaitAsync(first))["status"]);
        Assert.Equal("success", (string?)(await environment.WaitAsync(second))["status"]);
        foreach (var jobId in new[] { first, second })
        {
            Assert.Contains("is used where the artifact repository keeps it: nothing to fetch", (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output);
        }
        // The kernel frees a loop device shortly after its mount namespace ends.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await LoopBackingFilesAsync()).Contains(source) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.DoesNotContain(source, await LoopBackingFilesAsync());
    }

    /// <summary>The files behind the host's loop devices.</summary>
    public static async Task<List<string>> LoopBackingFilesAsync()
        => (await RunAsync("losetup", "--list", "--noheadings", "--output", "BACK-FILE")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Trim()).ToList();
}
