using System.Text;
using System.Text.RegularExpressions;
using Cray.Ims.Jobs;
using Cray.Platform.Sandboxes;

namespace Cray.Ims.Worker;

/// <summary>
/// Where a job's sshd and its users' sessions run. sshd runs in a sandbox of its own (an
/// identity-mapped user namespace, so no capability of the host; the host's programs read-only;
/// the job directory; nothing else of the host). Every SSH session then goes through the job's
/// entry script (sshd's ForceCommand), which starts the session in a second sandbox:
/// <list type="bullet">
/// <item>jailed: the image root is <c>/</c> (pivot_root, not chroot: there is nothing above it to
/// climb to), with its own /proc and a minimal /dev, no device nodes or set-user-id of the image,
/// and only <see cref="SandboxArguments.ImageRootCapabilities"/>;</item>
/// <item>not jailed (and the debug shell of a failed build): sshd's view (the host's programs
/// read-only and the job directory with the image root at its usual path), same limits.</item>
/// </list>
/// </summary>
public static partial class JobSandbox
{
    /// <summary>Where the SSH server's sftp helper is on Debian, Red Hat and SUSE hosts.</summary>
    private static readonly string[] SftpServerPaths = ["/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/lib/ssh/sftp-server"];

    /// <summary>Inside an image the sftp helper runs from the sandbox's own /dev, with the host's loader and C library: images need not have one.</summary>
    private const string SftpDirectory = "/dev/.cray-sftp";

    public static string SftpServer => SftpServerPaths.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"No sftp-server found ({string.Join(", ", SftpServerPaths)}); install openssh-server.");

    /// <summary>The command that runs the job's sshd in its sandbox (inside the job's user namespace).</summary>
    /// <param name="networkNamespaces">The namespace files of the sessions' own network (<see cref="IsolatedNetwork.NamespacesDirectory"/>), which the entry script joins.</param>
    public static IReadOnlyList<string> SshdCommand(JobWorkspace workspace, bool jail, bool requireDkms, string networkNamespaces)
    {
        var sandbox = new SandboxArguments().HostPrograms().ProcAndDevices();
        if (requireDkms)
        {
            sandbox.ReadOnlyBind("/sys", "/sys");
        }
        // sshd refuses an account whose password entry it cannot read: root gets one that no password matches.
        sandbox.ReadOnlyBind(workspace.ShadowFile, "/etc/shadow").Tmpfs("/run").Directory("/run/sshd").Tmpfs("/tmp").Directory("/root");
        if (jail)
        {
            // sshd reads its files; only the image root is written, by the sessions.
            sandbox.ReadOnlyBind(workspace.Directory, workspace.Directory).Bind(workspace.ImageRoot, workspace.ImageRoot);
        }
        else
        {
            sandbox.Bind(workspace.Directory, workspace.Directory);
        }
        // sshd listens on the host's network; the sessions join their own (the entry script does).
        sandbox.ReadOnlyBind(networkNamespaces, SessionNetworkNamespaces);
        return sandbox.Command(JobSshServer.SshdPath, ["-D", "-e", "-f", workspace.SshdConfig]);
    }

    /// <summary>Where sshd's sandbox holds the sessions' network's namespace files.</summary>
    private const string SessionNetworkNamespaces = "/run/cray-session-namespaces";

    /// <summary>The password entries sshd reads in its sandbox instead of the host's /etc/shadow: root, with no password.</summary>
    public const string ShadowText = "root:*:1:0:99999:7:::\n";

    /// <summary>The ForceCommand script: every session (shell, command, sftp) starts in the session sandbox.</summary>
    public static string EntryScript(string jobId, JobWorkspace workspace, bool jail, bool requireDkms, IReadOnlyList<string> sftpLibraries)
    {
        var sandbox = new SandboxArguments();
        if (jail)
        {
            sandbox.Bind(workspace.ImageRoot, "/");
        }
        else
        {
            sandbox.Bind("/", "/");
        }
        sandbox.ProcAndDevices();
        if (requireDkms)
        {
            sandbox.ReadOnlyBind("/sys", "/sys");
        }
        sandbox.Capabilities(SandboxArguments.ImageRootCapabilities);
        // Each session joins the job's own network before its sandbox starts: the host's loopback and abstract sockets stay out of reach.
        var common = $"{Quote(["/usr/bin/nsenter", $"--net={SessionNetworkNamespaces}/net", "--", SandboxArguments.Program])} {Quote(sandbox.Build())}";
        var start = jail ? "cd \"$HOME\" 2>/dev/null || cd /" : $"cd {Quote([workspace.Directory])}";

        string sftp;
        if (jail)
        {
            var binds = new StringBuilder();
            var loader = "";
            foreach (var library in sftpLibraries)
            {
                var inside = $"{SftpDirectory}/{Path.GetFileName(library)}";
                binds.Append(Quote(["--ro-bind", library, inside])).Append(' ');
                if (Path.GetFileName(library).StartsWith("ld-", StringComparison.Ordinal))
                {
                    loader = inside;
                }
            }
            var server = $"{SftpDirectory}/sftp-server";
            binds.Append(Quote(["--ro-bind", SftpServer, server]));
            sftp = $"exec {common} {binds} -- {Quote([loader, "--library-path", SftpDirectory, server, "-d", "/root"])}";
        }
        else
        {
            sftp = $"exec {common} -- {Quote([SftpServer, "-d", workspace.Directory])}";
        }

        var script = new StringBuilder();
        script.Append("#!/bin/sh\n");
        script.Append($"# Written by cray-server for IMS job {jobId}: sshd runs this for every session (ForceCommand)\n");
        script.Append(jail
            ? "# and it starts the session in the job's jail: the image root as /, nothing of the host.\n"
            : "# and it starts the session in the job's sandbox: the host's programs read-only and the job directory.\n");
        script.Append("case \"${SSH_ORIGINAL_COMMAND-}\" in\n");
        script.Append($"  {Quote([SftpServer])})\n    {sftp} ;;\n");
        script.Append($"  '')\n    exec {common} -- /bin/sh -c {Quote([$"{start}; if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l"])} ;;\n");
        script.Append($"  *)\n    exec {common} -- /bin/sh -c {Quote([$"{start}; exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\""])} ;;\n");
        script.Append("esac\n");
        return script.ToString();
    }

    /// <summary>The loader and libraries the host's sftp-server needs (from ldd), which the jail lends it read-only.</summary>
    public static IReadOnlyList<string> LibrariesOf(string lddOutput)
        => LibraryPath().Matches(lddOutput).Select(match => match.Groups["path"].Value).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Single-quotes each word for sh.</summary>
    public static string Quote(IEnumerable<string> words)
        => string.Join(' ', words.Select(word => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));

    [GeneratedRegex(@"(?:=>\s*|^\s*)(?<path>/\S+)\s+\(0x", RegexOptions.Multiline)]
    private static partial Regex LibraryPath();
}
