using System.Text.RegularExpressions;
using Cray.Processes;

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

    /// <summary>The overlay's read-only lower layer: the source squashfs, mounted.</summary>
    public string LowerDirectory => Path.Combine(Directory, "lower");

    /// <summary>The overlay's upper layer: everything the job changed.</summary>
    public string UpperDirectory => Path.Combine(Directory, "upper");

    public string OverlayWorkDirectory => Path.Combine(Directory, "overlay-work");

    /// <summary>A layered job's layer above the first: its own upper and work directories, or the mount point of a restored packed layer.</summary>
    public string LayerDirectory(int index) => Path.Combine(Directory, "layers", index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Where a sealed layer is packed before it is stored.</summary>
    public string PackedLayer(int index) => LayerDirectory(index) + ".squashfs";

    public string ResultSquashfs => Path.Combine(Directory, "result.squashfs");

    public string SshdConfig => Path.Combine(Directory, "sshd_config");

    public string HostKey => Path.Combine(Directory, "ssh_host_ed25519_key");

    public string AuthorizedKeys => Path.Combine(Directory, "authorized_keys");

    /// <summary>The /etc/shadow of sshd's sandbox.</summary>
    public string ShadowFile => Path.Combine(Directory, "shadow");

    /// <summary>sshd's ForceCommand: starts each session in the job's sandbox.</summary>
    public string EntryScript => Path.Combine(Directory, "jail-entry");

    /// <summary>
    /// Holds the control socket of the sessions' network (slirp4netns): outside the job directory,
    /// because a socket's path must be short (108 bytes) and sshd's sandbox shows that directory;
    /// crash recovery finds slirp4netns by this path on its command line.
    /// </summary>
    public string NetworkDirectory => Path.Combine(RuntimeDirectory, "ims-jobs", jobId);

    /// <summary>The server's directory for runtime files (sockets), on the host's /run.</summary>
    public const string RuntimeDirectory = "/run/cray-server";

    public string NetworkControlSocket => Path.Combine(NetworkDirectory, "slirp4netns.sock");

    /// <summary>Creates the job directory, readable by root only.</summary>
    public void Create()
    {
        System.IO.Directory.CreateDirectory(jobsDirectory);
        System.IO.Directory.CreateDirectory(Directory);
        File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>
    /// Stops this job's sandboxes (sshd and every session in them) and every other process still
    /// working in the job directory, unmounts what is mounted under the image root, and removes the directory.
    /// </summary>
    public async Task CleanupAsync(IProcessRunner runner, Action<string> log)
    {
        StopProcessesUsingDirectory(log);
        if (System.IO.Directory.Exists(NetworkDirectory))
        {
            System.IO.Directory.Delete(NetworkDirectory, recursive: true);
        }
        await UnmountAllAsync(runner, log);
        if (MountsUnder(ImageRoot).Count > 0)
        {
            // Never delete through a mount: that would delete the host's files.
            log($"Leaving {Directory} in place: something is still mounted below it.");
            return;
        }
        if (System.IO.Directory.Exists(Directory))
        {
            // Renamed at once and deleted in the background: a job that changed gigabytes does not make
            // its caller wait for their deletion. A crash meanwhile leaves a directory no job owns,
            // which the worker's recovery removes.
            var retired = Path.Combine(jobsDirectory, $".removing-{Path.GetFileName(Directory)}-{Guid.NewGuid():n}");
            System.IO.Directory.Move(Directory, retired);
            _ = Task.Run(async () =>
            {
                // --one-file-system: should anything be mounted below after all, rm does not descend into it.
                var removed = await runner.RunAsync(new ProcessRequest("rm", ["-rf", "--one-file-system", "--", retired]) { Timeout = TimeSpan.FromHours(1) });
                if (!removed.Succeeded)
                {
                    log($"Could not remove {retired}: {removed.Output.Trim()}");
                }
            });
        }
    }

    /// <summary>
    /// Kills what a session, a kiwi-ng build or a crashed worker left running here (the sandboxes
    /// name the job directory in their command lines, and killing one ends every process inside it).
    /// </summary>
    public void StopProcessesUsingDirectory(Action<string> log)
    {
        ProcessTree.StopProcessesUsing(Directory, log);
        ProcessTree.StopProcessesUsing(NetworkDirectory, log);
    }

    /// <summary>Creates the directory of the job's network control socket, readable by root only.</summary>
    public void CreateNetworkDirectory()
    {
        foreach (var directory in new[] { RuntimeDirectory, Path.GetDirectoryName(NetworkDirectory)!, NetworkDirectory })
        {
            System.IO.Directory.CreateDirectory(directory);
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
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
