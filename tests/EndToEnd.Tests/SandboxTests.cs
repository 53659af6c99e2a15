using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// Tries, as an attacker in an image or a playbook would, to reach the host from the jail, from
/// Ansible's side of a session and through packaging. Every attempt must fail and leave the host's
/// marker unread.
/// </summary>
public sealed class SandboxTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private const string HostSecret = "host-secret-do-not-leak";

    private CrayEnvironment Cray => environment.Cray;

    /// <summary>A root-only file of the host that nothing sandboxed may read.</summary>
    private async Task<string> HostMarkerAsync()
    {
        var marker = Path.Combine(Cray.Root, $"host-marker-{Guid.NewGuid():n}");
        await File.WriteAllTextAsync(marker, HostSecret);
        File.SetUnixFileMode(marker, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return marker;
    }

    [Fact]
    public async Task EveryWayOutOfTheJailFails()
    {
        var marker = await HostMarkerAsync();
        var corePattern = await File.ReadAllTextAsync("/proc/sys/kernel/core_pattern");
        var jobId = (string)(await environment.CreateJobAsync("escape-attempts"))["id"]!;
        var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
        // Host services a jail must not reach (an abstract Unix socket, the API on loopback), and one it must (a repository on the host's own address).
        var abstractName = $"cray-test-{Guid.NewGuid():n}";
        using var abstractListener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        abstractListener.Bind(new UnixDomainSocketEndPoint("\0" + abstractName));
        abstractListener.Listen();
        var hostAddress = NetworkInterface.GetAllNetworkInterfaces()
            .Where(device => device.OperationalStatus == OperationalStatus.Up && device.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(device => device.GetIPProperties().UnicastAddresses)
            .Select(unicast => unicast.Address)
            .FirstOrDefault(address => address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address));
        using var repository = hostAddress is null ? null : new TcpListener(hostAddress, 0);
        repository?.Start();
        if (repository is not null)
        {
            _ = ServeOnceAsync(repository, "repository answers");
        }
        var repositoryAddress = repository is null ? "None" : $"(\"{hostAddress}\", {((IPEndPoint)repository.LocalEndpoint).Port})";
        try
        {
            var script = $$"""
                import ctypes, os, re, struct
                marker = {{"\"" + marker + "\""}}
                def attempt(name, action):
                    try:
                        result = action()
                        print(name, "SUCCEEDED", repr(result)[:200])
                    except Exception as error:
                        print(name, "failed", type(error).__name__)
                def read(path):
                    with open(path) as handle:
                        return handle.read()
                # 1. The classic chroot climb: chroot into a subdirectory, walk up, chroot there.
                def climb():
                    os.makedirs("/climb", exist_ok=True)
                    outside = os.open("/", os.O_RDONLY)
                    os.chroot("/climb")
                    os.fchdir(outside)
                    for _ in range(64):
                        os.chdir("..")
                    os.chroot(".")
                    return read(marker)
                attempt("chroot-climb", climb)
                # 2. Another process's root: every /proc/*/root.
                def proc_roots():
                    for pid in filter(str.isdigit, os.listdir("/proc")):
                        try:
                            return read("/proc/" + pid + "/root" + marker)
                        except OSError:
                            pass
                    raise OSError("no process root leads out")
                attempt("proc-root", proc_roots)
                # 3. Mounting: a new proc, a tmpfs, a bind of /.
                attempt("mount-proc", lambda: os.system("mount -t proc proc /mnt 2>/dev/null") == 0 or (_ for _ in ()).throw(OSError("refused")))
                attempt("mount-tmpfs", lambda: os.system("mount -t tmpfs tmpfs /mnt 2>/dev/null") == 0 or (_ for _ in ()).throw(OSError("refused")))
                # 4. A device node for the host's disk.
                attempt("mknod", lambda: os.mknod("/host-disk", 0o600 | 0o060000, os.makedev({{DiskMajor()}}, {{DiskMinor()}})))
                # 5. open_by_handle_at (the "shocker" escape): the file system's root by inode number.
                def by_handle():
                    libc = ctypes.CDLL(None, use_errno=True)
                    handle = struct.pack("iiQ", 8, 1, 2)
                    fd = libc.open_by_handle_at(os.open("/", os.O_RDONLY), ctypes.create_string_buffer(handle), os.O_RDONLY)
                    if fd < 0:
                        raise OSError(ctypes.get_errno(), "open_by_handle_at")
                    return fd
                attempt("open-by-handle", by_handle)
                # 6. The host's processes: the test runner's own id.
                attempt("signal-host", lambda: os.kill({{Environment.ProcessId}}, 0))
                attempt("ptrace-host", lambda: ctypes.CDLL(None, use_errno=True).ptrace(16, {{Environment.ProcessId}}, 0, 0) == 0 or (_ for _ in ()).throw(OSError("refused")))
                # 7. The kernel's settings: a core_pattern runs a program on the host.
                def core_pattern():
                    with open("/proc/sys/kernel/core_pattern", "w") as handle:
                        handle.write("|/tmp/evil")
                attempt("core-pattern", core_pattern)
                # 8. The marker by its own path, and the host's data directory.
                attempt("marker", lambda: read(marker))
                attempt("data-directory", lambda: os.listdir({{"\"" + Cray.DataDirectory + "\""}}))
                # 9. The host's network: the API on loopback, an abstract Unix socket; a repository on the host's address stays reachable.
                import socket
                def connect(address, family=socket.AF_INET):
                    connection = socket.socket(family, socket.SOCK_STREAM)
                    connection.settimeout(3)
                    connection.connect(address)
                    return connection
                attempt("api-loopback", lambda: connect(("127.0.0.1", {{Cray.Port}})))
                attempt("abstract-socket", lambda: connect("\0{{abstractName}}", socket.AF_UNIX))
                repository = {{repositoryAddress}}
                if repository:
                    try:
                        print("repository:", connect(repository).recv(100).decode())
                    except Exception as error:
                        print("repository: unreachable", type(error).__name__)
                status = read("/proc/self/status")
                print("CapEff", re.search(r"CapEff:\s*(\w+)", status).group(1))
                print("NoNewPrivs", re.search(r"NoNewPrivs:\s*(\d)", status).group(1))
                """;
            var scriptFile = Path.Combine(Cray.Root, "escape.py");
            await File.WriteAllTextAsync(scriptFile, script);
            var copy = await ProcessRunner.Instance.RunAsync(new ProcessRequest("scp",
            [
                "-i", environment.PrivateKey, "-P", port.ToString(CultureInfo.InvariantCulture), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", scriptFile, "root@127.0.0.1:/root/escape.py",
            ]));
            Assert.True(copy.Succeeded, copy.Output);
            var result = await environment.SshAsync(port, "python3 /root/escape.py");
            Assert.True(result.Succeeded, result.Output);

            var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (var attemptName in new[] { "chroot-climb", "proc-root", "mount-proc", "mount-tmpfs", "mknod", "open-by-handle", "signal-host", "ptrace-host", "core-pattern", "marker", "data-directory", "api-loopback", "abstract-socket" })
            {
                Assert.Contains($"{attemptName} failed", result.Output);
            }
            Assert.DoesNotContain("SUCCEEDED", result.Output);
            Assert.DoesNotContain(HostSecret, result.Output);
            Assert.Equal(corePattern, await File.ReadAllTextAsync("/proc/sys/kernel/core_pattern"));

            // None of the capabilities that reach past the jail: dac_read_search 2, net_admin 12, net_raw 13,
            // sys_module 16, sys_rawio 17, sys_ptrace 19, sys_admin 21, sys_boot 22, sys_time 25, mknod 27.
            var effective = Convert.ToUInt64(lines.Single(line => line.StartsWith("CapEff", StringComparison.Ordinal)).Split(' ')[1], 16);
            foreach (var capability in new[] { 2, 12, 13, 16, 17, 19, 21, 22, 25, 27 })
            {
                Assert.True((effective & (1UL << capability)) == 0, $"capability {capability} is effective in the jail");
            }
            Assert.Contains("NoNewPrivs 1", result.Output);
            if (hostAddress is not null)
            {
                Assert.Contains("repository: repository answers", result.Output);
            }
        }
        finally
        {
            await environment.SshAsync(port, "touch /tmp/failed");
            await environment.WaitAsync(jobId);
        }
    }

    /// <summary>Answers the first connection with a line, as a package repository on the host's address would.</summary>
    private static async Task ServeOnceAsync(TcpListener listener, string answer)
    {
        try
        {
            using var client = await listener.AcceptTcpClientAsync();
            await client.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(answer));
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Stopped before anyone connected: the test's assertion says so.
        }
    }

    [Fact]
    public async Task AJobsNetworkLeavesTheHostsMountsAlone()
    {
        // A named network namespace of the host's (ip netns add), as other software on a worker keeps
        // them: slirp4netns's sandbox, started in the host's mount namespace, used to unmount these.
        var name = "cray-probe-" + Guid.NewGuid().ToString("n")[..8];
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("ip", ["netns", "add", name]));
        try
        {
            var jobId = (string)(await environment.CreateJobAsync("mounts-kept"))["id"]!;
            var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
            Assert.True((await environment.SshAsync(port, "true")).Succeeded);
            Assert.Contains(File.ReadLines("/proc/self/mountinfo"), line => line.Contains($"/run/netns/{name} ", StringComparison.Ordinal));
            var inside = await ProcessRunner.Instance.RunAsync(new ProcessRequest("ip", ["netns", "exec", name, "true"]));
            Assert.True(inside.Succeeded, inside.Output);
            await environment.SshAsync(port, "touch /tmp/failed");
            Assert.Equal("error", (string?)(await environment.WaitAsync(jobId))["status"]);
        }
        finally
        {
            await ProcessRunner.Instance.RunAsync(new ProcessRequest("ip", ["netns", "delete", name]));
        }
    }

    [Fact]
    public async Task ADeviceNodeThatTheImageBringsCannotBeOpened()
    {
        // An image whose root holds a block device node for the host's disk, as a vendor image could.
        var rootfs = Path.Combine(Cray.Root, "device-image");
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("unsquashfs", ["-q", "-d", rootfs, await JobEnvironment.BaseImagePathAsync()]) { Timeout = TimeSpan.FromMinutes(5) });
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("mknod", [Path.Combine(rootfs, "host-disk"), "b", DiskMajor().ToString(CultureInfo.InvariantCulture), DiskMinor().ToString(CultureInfo.InvariantCulture)]));
        var imported = await Cray.CrayAsync("ims", "images", "import", "--name", "with-device", "--rootfs", rootfs, "--format", "json");
        Assert.True(imported.ExitCode == 0, imported.Error);
        Directory.Delete(rootfs, recursive: true);
        var imageId = (string)JsonNode.Parse(imported.Output)!["id"]!;

        var jobId = (string)(await environment.CreateJobAsync("device-attempt", imageId: imageId))["id"]!;
        var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
        var read = await environment.SshAsync(port, "test -b /host-disk && echo present; head -c 512 /host-disk | wc -c; touch /tmp/failed");
        Assert.Contains("present", read.Output);
        Assert.Contains("Permission denied", read.Output);
        Assert.Equal("error", (string?)(await environment.WaitAsync(jobId))["status"]);
    }

    [Fact]
    public async Task PackagingNeverReadsAHostFileThroughALinkOrAName()
    {
        var refused = await Cray.CrayAsync("ims", "jobs", "create", "--job-type", "customize", "--artifact-id", environment.BaseImageId,
            "--image-root-archive-name", "dot-dot", "--public-key-id", environment.PublicKeyId, "--kernel-file-name", "../../../etc/shadow");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("Unprocessable Entity", refused.Error);

        // A host directory with a kernel and initrd in it, and an image whose /boot links there.
        var hostBoot = Path.Combine(Cray.Root, $"host-boot-{Guid.NewGuid():n}");
        Directory.CreateDirectory(hostBoot);
        await File.WriteAllTextAsync(Path.Combine(hostBoot, "vmlinuz"), HostSecret);
        await File.WriteAllTextAsync(Path.Combine(hostBoot, "initrd"), HostSecret);
        var jobId = (string)(await environment.CreateJobAsync("linked-boot", extra: ["--kernel-file-name", "vmlinuz"]))["id"]!;
        var port = JobEnvironment.SshPort(await environment.WaitAsync(jobId, until: "waiting_on_user"));
        await environment.SshCheckedAsync(port, $"rm -rf /boot && ln -s {hostBoot} /boot && touch /tmp/complete");
        var done = await environment.WaitAsync(jobId);
        Assert.Equal("success", (string?)done["status"]);
        var resultId = (string)done["resultant_image_id"]!;

        var manifest = Path.Combine(Cray.Root, "linked-boot-manifest.json");
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{resultId}/manifest.json", manifest)).ExitCode);
        foreach (var artifact in JsonNode.Parse(await File.ReadAllTextAsync(manifest))!["artifacts"]!.AsArray())
        {
            var key = ((string)artifact!["link"]!["path"]!)["s3://boot-images/".Length..];
            var copy = Path.Combine(Cray.Root, "artifact-copy");
            Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", key, copy)).ExitCode);
            Assert.DoesNotContain(HostSecret, await File.ReadAllTextAsync(copy));
        }
        var log = (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output;
        Assert.Contains("does not exist in the image root", log);
    }

    private static int DiskMajor() => (int)(RootDevice() >> 8);

    private static int DiskMinor() => (int)(RootDevice() & 0xff);

    /// <summary>The device number of the host's root file system (stat's %d).</summary>
    private static ulong RootDevice()
        => ulong.Parse(ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("stat", ["--format=%d", "/"])).GetAwaiter().GetResult().Output.Trim(), CultureInfo.InvariantCulture);
}
