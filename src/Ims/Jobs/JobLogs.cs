using System.Globalization;
using Cray.Platform;

namespace Cray.Ims.Jobs;

/// <summary>One append-only log file per job, kept until the job is deleted (the reference needs kubectl for this).</summary>
public sealed class JobLogs(ImsWorkerOptions options, TimeProvider clock)
{
    private readonly Lock writeLock = new();

    public string PathOf(string jobId) => Path.Combine(options.LogsDirectory, jobId + ".log");

    public void Append(string jobId, string line)
    {
        var stamp = Timestamps.Format(clock.GetUtcNow()).Replace('T', ' ')[..23];
        lock (writeLock)
        {
            Directory.CreateDirectory(options.LogsDirectory);
            File.AppendAllText(PathOf(jobId), string.Create(CultureInfo.InvariantCulture, $"{stamp} {line}\n"));
        }
    }

    public Stream? OpenRead(string jobId)
    {
        try
        {
            return new FileStream(PathOf(jobId), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void Delete(string jobId)
    {
        lock (writeLock)
        {
            File.Delete(PathOf(jobId));
        }
    }
}
