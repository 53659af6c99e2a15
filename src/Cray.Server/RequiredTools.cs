using Cray.Ims.Jobs;
using Cray.Platform.Sandboxes;

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
            .Where(entry => !IsAvailable(entry.Program))
            .Select(entry => $"the {entry.role} role needs {entry.Program}: apt-get install {entry.Package}")
            .Distinct()
            .ToList();

    private static bool IsAvailable(string program)
    {
        if (program.Contains('/'))
        {
            return File.Exists(program);
        }
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Any(directory => File.Exists(Path.Combine(directory, program)));
    }
}
