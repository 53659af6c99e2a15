using Cray.Ims.Worker;
using Cray.Platform.Sandboxes;
using Cray.Processes;

namespace Cray.Server;

/// <summary>The external programs each role runs, and the Debian package that provides each.</summary>
public static class RequiredTools
{
    private static readonly Dictionary<string, (string Program, string Package)[]> ByRole = new()
    {
        [ServerOptions.ImsWorkerRole] =
        [
            ("unsquashfs", "squashfs-tools"),
            ("mksquashfs", "squashfs-tools"),
            (JobSshServer.SshdPath, "openssh-server"),
            ("ssh-keygen", "openssh-client"),
            ("mount", "mount"),
            ("umount", "mount"),
            ("stat", "coreutils"),
            ("ldd", "libc-bin"),
            (SandboxArguments.Program, "bubblewrap"),
            ("unshare", "util-linux"),
            ("nsenter", "util-linux"),
            (IsolatedNetwork.Program, "slirp4netns"),
        ],
        [ServerOptions.CfsRunnerRole] =
        [
            ("git", "git"),
            ("ansible-playbook", "ansible-core"),
            ("ssh", "openssh-client"),
            ("ssh-keygen", "openssh-client"),
            ("realpath", "coreutils"),
            (SandboxArguments.Program, "bubblewrap"),
            ("unshare", "util-linux"),
            ("nsenter", "util-linux"),
        ],
    };

    /// <summary>One line per missing program, naming the package to install; empty when all are present.</summary>
    public static IReadOnlyList<string> Missing(IEnumerable<string> roles)
        => roles
            .SelectMany(role => ByRole.TryGetValue(role, out var tools) ? tools.Select(tool => (role, tool.Program, tool.Package)) : [])
            .Where(entry => !ProgramSearch.IsAvailable(entry.Program))
            .Select(entry => $"the {entry.role} role needs {entry.Program}: apt-get install {entry.Package}")
            .Distinct()
            .ToList();
}
