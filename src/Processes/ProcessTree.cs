using System.Diagnostics;

namespace Cray.Processes;

/// <summary>Reads the host's process tree from /proc: a process's children and all its descendants.</summary>
public static class ProcessTree
{
    public static IReadOnlyList<int> Children(int processId)
    {
        var children = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{processId}/task"))
            {
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    children.Add(int.Parse(child, System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The process has gone.
        }
        return children;
    }

    /// <summary>Every process below this one, parents before their children.</summary>
    public static IReadOnlyList<int> Descendants(int processId)
    {
        var found = new List<int>();
        var pending = new Queue<int>(Children(processId));
        while (pending.TryDequeue(out var next))
        {
            found.Add(next);
            foreach (var child in Children(next))
            {
                pending.Enqueue(child);
            }
        }
        return found;
    }

    /// <summary>The program name the kernel shows for the process (comm), or "" once it has gone.</summary>
    public static string Name(int processId)
    {
        try
        {
            return File.ReadAllText($"/proc/{processId}/comm").Trim();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>
    /// Kills every process whose root, working directory or command line is inside the directory,
    /// with everything it started: what a crashed server left running there.
    /// </summary>
    public static void StopProcessesUsing(string directory, Action<string> log)
    {
        var inside = directory.TrimEnd('/');
        bool IsInside(string? path) => path is not null && (path == inside || path.StartsWith(inside + "/", StringComparison.Ordinal));
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var processId) || processId == Environment.ProcessId)
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
                    using var process = Process.GetProcessById(processId);
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                    log($"Stopped process {processId} ({string.Join(' ', commandLine).Trim()}), still using {directory}.");
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
                or System.ComponentModel.Win32Exception)
            {
                // Gone meanwhile, or not ours to inspect.
            }
        }
    }
}
