namespace Cray.Platform;

/// <summary>Secrets given as files (a command line is visible to every user of the machine).</summary>
public static class SecretFile
{
    /// <summary>The file's first line, trimmed; an ArgumentException naming <paramref name="flag"/> when it is empty or unreadable.</summary>
    public static string ReadFirstLine(string flag, string path)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault()?.Trim() is { Length: > 0 } secret
                ? secret
                : throw new ArgumentException($"{flag}: {path} is empty.");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{flag}: cannot read {path}: {exception.Message}");
        }
    }
}
