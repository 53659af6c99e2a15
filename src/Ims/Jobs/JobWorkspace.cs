using System.Diagnostics;
using System.Text.RegularExpressions;
using Cray.Platform.Processes;

namespace Cray.Ims.Jobs;

/// <summary>
/// A job's directory under the jobs root: the image root the jail serves, the private sshd's
/// configuration, host key, authorized key, pid file and log. Cleanup stops that sshd, unmounts
/// anything under the image root and removes the directory, and is safe to run more than once.
/// </summary>
public sealed partial class JobWorkspace(string jobsDirectory, string jobId)
{
    public const UnixFileMode RootOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public string Directory { get; } = Path.Combine(jobsDirectory, jobId);

    public string ImageRoot => Path.Combine(Directory, "image-root");

    public string SourceSquashfs => Path.Combine(Directory, "source.squashfs");

    public string ResultSquashfs => Path.Combine(Directory, "result.squashfs");

    public string SshdConfig => Path.Combine(Directory, "sshd_config");

    public string HostKey => Path.Combine(Directory, "ssh_host_ed25519_key");

    public string AuthorizedKeys => Path.Combine(Directory, "authorized_keys");

    public string PidFile => Path.Combine(Directory, "sshd.pid");

    /// <summary>Where the user's complete/failed files appear: /tmp inside a jail, the job directory without one.</summary>
    public string SignalDirectory(bool jail) => jail ? Path.Combine(ImageRoot, "tmp") : Directory;

    /// <summary>
    /// Creates the job directory. OpenSSH's ChrootDirectory requires every component of the image
    /// root's path to be root-owned and not writable by group or others, so each one is checked.
    /// </summary>
    public async Task CreateAsync(IProcessRunner runner, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(jobsDirectory);
        System.IO.Directory.CreateDirectory(Directory);
        File.SetUnixFileMode(Directory, RootOnlyDirectory);
        await EnsureChrootSafePathAsync(runner, Directory, cancellationToken);
    }

    public static async Task EnsureChrootSafePathAsync(IProcessRunner runner, string path, CancellationToken cancellationToken)
    {
        var components = new List<string>();
        for (var directory = new DirectoryInfo(path); directory is not null; directory = directory.Parent)
        {
            components.Add(directory.FullName);
        }
        var owners = await runner.RunCheckedAsync(new ProcessRequest("stat", ["--format=%u %a %n", .. components]) { Timeout = TimeSpan.FromSeconds(30) }, cancellationToken);
        foreach (var line in owners.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', 3);
            var mode = Convert.ToInt32(fields[1], 8);
            if (fields[0] != "0" || (mode & 0b000_010_010) != 0)
            {
                throw new InvalidOperationException(
                    $"{fields[2]} must be owned by root and not writable by group or others, or OpenSSH refuses the jail below it (ChrootDirectory). Choose a --data-dir or --ims-jobs-dir elsewhere.");
            }
        }
    }

    /// <summary>
    /// Stops this job's sshd (by its pid file) and every other process still working in the job
    /// directory, unmounts what is mounted under the image root, and removes the directory.
    /// </summary>
    public async Task CleanupAsync(IProcessRunner runner, Action<string> log)
    {
        StopSshd(log);
        StopProcessesUsingDirectory(log);
        await UnmountAllAsync(runner, log);
        if (MountsUnder(ImageRoot).Count > 0)
        {
            // Never delete through a mount: that would delete the host's files.
            log($"Leaving {Directory} in place: something is still mounted below it.");
            return;
        }
        if (System.IO.Directory.Exists(Directory))
        {
            // --one-file-system: should anything be mounted below after all, rm does not descend into it.
            var removed = await runner.RunAsync(new ProcessRequest("rm", ["-rf", "--one-file-system", "--", Directory]) { Timeout = TimeSpan.FromMinutes(30) });
            if (!removed.Succeeded)
            {
                log($"Could not remove {Directory}: {removed.Output.Trim()}");
            }
        }
    }

    /// <summary>
    /// Kills what a session in the jail, a kiwi-ng build or a crashed worker left running here: any
    /// process whose root, working directory or command line is inside the job directory.
    /// </summary>
    public void StopProcessesUsingDirectory(Action<string> log)
    {
        var inside = Directory.TrimEnd('/');
        bool IsInside(string? path) => path is not null && (path == inside || path.StartsWith(inside + "/", StringComparison.Ordinal));
        foreach (var entry in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var root = new DirectoryInfo(Path.Combine(entry, "root")).LinkTarget;
                var workingDirectory = new DirectoryInfo(Path.Combine(entry, "cwd")).LinkTarget;
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Split('\0');
                if (IsInside(root) || IsInside(workingDirectory) || commandLine.Any(argument => IsInside(argument) || argument.Contains(inside + "/", StringComparison.Ordinal)))
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                    log($"Stopped process {pid} ({string.Join(' ', commandLine).Trim()}), still using the job directory.");
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
                or System.ComponentModel.Win32Exception)
            {
                // Gone meanwhile, or not ours to inspect.
            }
        }
    }

    public void StopSshd(Action<string> log)
    {
        if (!File.Exists(PidFile) || !int.TryParse(File.ReadAllText(PidFile).Trim(), out var pid))
        {
            return;
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            // A pid can be reused: only stop an sshd that runs this job's configuration.
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            if (commandLine.Contains(SshdConfig, StringComparison.Ordinal))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
                log($"Stopped sshd (pid {pid}).");
            }
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException or IOException)
        {
            // Already gone.
        }
        File.Delete(PidFile);
    }

    public async Task UnmountAllAsync(IProcessRunner runner, Action<string> log)
    {
        // Deepest first, so that nested mounts come off before their parents.
        foreach (var mountPoint in MountsUnder(ImageRoot).OrderByDescending(path => path.Length))
        {
            var result = await runner.RunAsync(new ProcessRequest("umount", ["--lazy", mountPoint]) { Timeout = TimeSpan.FromMinutes(1) });
            log(result.Succeeded ? $"Unmounted {mountPoint}." : $"Could not unmount {mountPoint}: {result.Output.Trim()}");
        }
    }

    public static IReadOnlyList<string> MountsUnder(string directory)
    {
        var prefix = directory.TrimEnd('/') + "/";
        return File.ReadLines("/proc/self/mounts")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 1)
            .Select(fields => OctalEscape().Replace(fields[1], match => ((char)Convert.ToInt32(match.Value[1..], 8)).ToString()))
            .Where(mountPoint => mountPoint == directory.TrimEnd('/') || mountPoint.StartsWith(prefix, StringComparison.Ordinal))
            .ToList();
    }

    [GeneratedRegex(@"\\[0-7]{3}")]
    private static partial Regex OctalEscape();
}
