namespace Cray.Processes;

/// <summary>Whether a program can be started: a path that exists, or a name found on PATH.</summary>
public static class ProgramSearch
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static bool IsAvailable(string program) => Find(program) is not null;

    /// <summary>The file a program name starts: itself when it is a path, else the first on PATH; null when there is none.</summary>
    public static string? Find(string program)
    {
        if (program.Contains('/'))
        {
            return File.Exists(program) ? program : null;
        }
        var path = Environment.GetEnvironmentVariable("PATH") ?? DefaultPath;
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(directory => Path.Combine(directory, program)).FirstOrDefault(File.Exists);
    }
}
