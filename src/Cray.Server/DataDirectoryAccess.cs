using System.Globalization;
using Cray.Processes;

namespace Cray.Server;

/// <summary>
/// The data directory holds the database, the key ring, keys, logs and image roots: it is the
/// server user's alone (0700). A directory that others can write is refused, since they could
/// swap any of those files; one that others can only read is closed at start.
/// </summary>
public static class DataDirectoryAccess
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Why the server must not start on this directory, or null once it is private (created when missing).</summary>
    public static string? Problem(string directory)
    {
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, OwnerOnly);
            return null;
        }
        var status = ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("stat", ["--format=%u %a", "--", directory]) { Timeout = TimeSpan.FromSeconds(30) })
            .GetAwaiter().GetResult().Output.Trim().Split(' ');
        var owner = int.Parse(status[0], CultureInfo.InvariantCulture);
        var mode = Convert.ToInt32(status[1], 8);
        if (owner != CurrentUserId())
        {
            return $"the data directory {directory} belongs to user {owner}, not to the user cray-server runs as; others must not control its files.";
        }
        if ((mode & 0b000_010_010) != 0)
        {
            return $"the data directory {directory} is writable by group or others (mode {Convert.ToString(mode, 8)}); run chmod 700 {directory} first.";
        }
        File.SetUnixFileMode(directory, OwnerOnly);
        return null;
    }

    private static int CurrentUserId()
        => int.Parse(ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("id", ["-u"]) { Timeout = TimeSpan.FromSeconds(30) }).GetAwaiter().GetResult().Output.Trim(),
            CultureInfo.InvariantCulture);
}
