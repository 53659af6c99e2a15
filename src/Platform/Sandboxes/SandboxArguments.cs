using Cray.Processes;

namespace Cray.Platform.Sandboxes;

/// <summary>
/// Builds a bubblewrap (bwrap) command line: a new mount namespace whose root holds only what is
/// bound into it, its own PID, IPC, UTS and cgroup namespaces, its own /proc (with the kernel's
/// settings read-only) and a minimal /dev, no_new_privs, and the capabilities it is given.
/// Mounts are made in the order they are added: the root first, then what goes inside it.
/// </summary>
public sealed class SandboxArguments
{
    public const string Program = "/usr/bin/bwrap";

    /// <summary>
    /// What root inside an image may still do: own, chmod and set capabilities on its files, switch
    /// users, signal its own processes, chroot. Not mounting, device nodes, raw sockets, raw I/O,
    /// modules, ptrace, the clock, rebooting or network administration. (Docker's default set less
    /// mknod and raw sockets.)
    /// </summary>
    public static readonly IReadOnlyList<string> ImageRootCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETFCAP", "CAP_AUDIT_WRITE",
    ];

    /// <summary>
    /// The host's configuration that programs from the host's /usr need to run (users, names,
    /// the dynamic loader's cache, CA certificates, the SSH client's configuration), and nothing
    /// secret: no shadow files, no private keys.
    /// </summary>
    private static readonly string[] HostConfiguration =
    [
        "passwd", "group", "hosts", "hostname", "resolv.conf", "nsswitch.conf", "host.conf", "gai.conf", "services", "protocols",
        "localtime", "timezone", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl/certs", "ca-certificates", "ssh/ssh_config",
        "ssh/ssh_config.d", "ssh/moduli", "alternatives", "os-release", "python3", "mime.types",
    ];

    private static readonly string[] MergedUsrEntries = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

    private readonly List<string> arguments =
    [
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    ];

    /// <summary>The sandbox's own /proc (the kernel's settings and sysrq read-only) and a minimal /dev.</summary>
    public SandboxArguments ProcAndDevices()
    {
        // bubblewrap 0.8 leaves /proc/sys writable when it runs as root; a writable
        // /proc/sys/kernel/core_pattern would run a program of the sandbox's choosing on the host.
        arguments.AddRange(["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger", "--dev", "/dev"]);
        return this;
    }

    /// <summary>The host's programs, read-only: /usr (and /bin, /lib... whether links into it or directories), plus the configuration they need.</summary>
    public SandboxArguments HostPrograms()
    {
        arguments.AddRange(["--ro-bind", "/usr", "/usr"]);
        foreach (var entry in MergedUsrEntries)
        {
            var path = "/" + entry;
            var info = new DirectoryInfo(path);
            if (info.LinkTarget is { } target)
            {
                arguments.AddRange(["--symlink", target, path]);
            }
            else if (info.Exists)
            {
                arguments.AddRange(["--ro-bind", path, path]);
            }
        }
        foreach (var entry in HostConfiguration)
        {
            arguments.AddRange(["--ro-bind-try", "/etc/" + entry, "/etc/" + entry]);
        }
        return this;
    }

    public SandboxArguments Bind(string source, string destination)
    {
        arguments.AddRange(["--bind", source, destination]);
        return this;
    }

    public SandboxArguments ReadOnlyBind(string source, string destination)
    {
        arguments.AddRange(["--ro-bind", source, destination]);
        return this;
    }

    public SandboxArguments ReadOnlyBindIfPresent(string source, string destination)
    {
        arguments.AddRange(["--ro-bind-try", source, destination]);
        return this;
    }

    public SandboxArguments Tmpfs(string destination)
    {
        arguments.AddRange(["--tmpfs", destination]);
        return this;
    }

    public SandboxArguments Directory(string destination)
    {
        arguments.AddRange(["--dir", destination]);
        return this;
    }

    /// <summary>
    /// Runs the program as the sandbox's process 1, so that everything it leaves behind (SSH
    /// control masters, daemons of local tasks) ends with it instead of holding its output open.
    /// </summary>
    public SandboxArguments ProgramAsInit()
    {
        arguments.Add("--as-pid-1");
        return this;
    }

    /// <summary>
    /// Starts the program with only the host's standard PATH, this HOME and a UTF-8 locale, plus what
    /// <see cref="SetEnvironment"/> adds: nothing of the caller's environment leaks in.
    /// </summary>
    public SandboxArguments CleanEnvironment(string home)
    {
        arguments.Add("--clearenv");
        return SetEnvironment("PATH", ProgramSearch.DefaultPath).SetEnvironment("HOME", home).SetEnvironment("LANG", "C.UTF-8");
    }

    public SandboxArguments SetEnvironment(string name, string value)
    {
        arguments.AddRange(["--setenv", name, value]);
        return this;
    }

    public SandboxArguments WorkingDirectory(string directory)
    {
        arguments.AddRange(["--chdir", directory]);
        return this;
    }

    /// <summary>Keeps only these capabilities (none when empty); without a call the sandbox keeps all of its user namespace's.</summary>
    public SandboxArguments Capabilities(IEnumerable<string> kept)
    {
        arguments.AddRange(["--cap-drop", "ALL"]);
        foreach (var capability in kept)
        {
            arguments.AddRange(["--cap-add", capability]);
        }
        return this;
    }

    /// <summary>bwrap's arguments up to (not including) the "--" before the program. Mounts apply in the order they were added.</summary>
    public IReadOnlyList<string> Build() => arguments;

    /// <summary>The whole command line: bwrap, its arguments, "--", the program and its arguments.</summary>
    public IReadOnlyList<string> Command(string program, IEnumerable<string> programArguments) => [Program, .. Build(), "--", program, .. programArguments];
}
