using Cray.Processes;

namespace Cray.Ims.Worker;

/// <summary>
/// Finds a file inside an image root as a process jailed in it would: absolute symbolic links
/// start again at the image root and <c>..</c> stops there, so no link in an image can lead the
/// packager to a file of the host.
/// </summary>
public static class ImageRootPath
{
    private const int MaximumLinks = 40;

    /// <summary>The host path, free of symbolic links, that <paramref name="path"/> names inside the root, or null (with the reason) when there is none.</summary>
    public static string? Resolve(string root, string path, out string? reason)
    {
        reason = null;
        var resolved = new List<string>();
        var pending = new Stack<string>(Segments(path).Reverse());
        var links = 0;
        while (pending.TryPop(out var segment))
        {
            if (segment == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }
                continue;
            }
            var candidate = Path.Combine([root, .. resolved, segment]);
            var info = new FileInfo(candidate);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaximumLinks)
                {
                    reason = $"/{path.TrimStart('/')} goes through more than {MaximumLinks} symbolic links";
                    return null;
                }
                if (target.StartsWith('/'))
                {
                    resolved.Clear();
                }
                foreach (var next in Segments(target).Reverse())
                {
                    pending.Push(next);
                }
                continue;
            }
            if (!info.Exists && !Directory.Exists(candidate))
            {
                reason = $"/{string.Join('/', resolved.Append(segment))} does not exist in the image root";
                return null;
            }
            resolved.Add(segment);
        }
        return Path.Combine([root, .. resolved]);
    }

    /// <summary>Whether the path (already free of links) is a regular file: never a device node, FIFO or socket, whose reading could block or read the host's disk.</summary>
    public static async Task<bool> IsRegularFileAsync(IProcessRunner runner, string path, CancellationToken cancellationToken)
    {
        var type = await runner.RunAsync(new ProcessRequest("stat", ["--format=%F", "--", path]) { Timeout = TimeSpan.FromSeconds(30) }, cancellationToken);
        return type.Succeeded && type.Output.Trim() is "regular file" or "regular empty file";
    }

    private static IEnumerable<string> Segments(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(segment => segment != ".");
}
