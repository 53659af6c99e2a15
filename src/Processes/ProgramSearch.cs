namespace Cray.Processes;

/// <summary>Whether a program can be started: a path that exists, or a name found on PATH.</summary>
public static class ProgramSearch
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static bool IsAvailable(string program)
    {
        if (program.Contains('/'))
        {
            return File.Exists(program);
        }
        var path = Environment.GetEnvironmentVariable("PATH") ?? DefaultPath;
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Any(directory => File.Exists(Path.Combine(directory, program)));
    }
}
