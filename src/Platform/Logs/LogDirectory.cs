using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Cray.Platform.Logs;

/// <summary>
/// One append-only log file per job or session in a directory, each line time-stamped; served over
/// HTTP (optionally followed) in place of the reference's <c>kubectl logs</c>.
/// </summary>
public class LogDirectory(string directory, TimeProvider clock)
{
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(250);
    private readonly Lock writeLock = new();

    public string PathOf(string id) => Path.Combine(directory, id + ".log");

    public void Append(string id, string line)
    {
        var stamp = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
        lock (writeLock)
        {
            Directory.CreateDirectory(directory);
            File.AppendAllText(PathOf(id), $"{stamp} {line}\n");
        }
    }

    public Stream? OpenRead(string id)
    {
        try
        {
            return new FileStream(PathOf(id), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void Delete(string id)
    {
        lock (writeLock)
        {
            if (Directory.Exists(directory))
            {
                File.Delete(PathOf(id));
            }
        }
    }

    /// <summary>
    /// Writes the log as text; when following, keeps writing what is appended until
    /// <paramref name="isFinished"/> says the job or session is over (or gone) and all is sent.
    /// </summary>
    public async Task StreamAsync(string id, bool follow, Func<Task<bool>> isFinished, HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        context.Response.ContentType = "text/plain; charset=utf-8";
        var log = OpenRead(id);
        // A follower may arrive before the first line is written (a session not yet claimed).
        while (log is null && follow && !await isFinished())
        {
            await Task.Delay(FollowInterval, cancellationToken);
            log = OpenRead(id);
        }
        if (log is null)
        {
            return;
        }
        await using var _ = log;
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int read;
            while ((read = await log.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
            await context.Response.Body.FlushAsync(cancellationToken);
            if (!follow || (await isFinished() && log.Position >= log.Length))
            {
                return;
            }
            await Task.Delay(FollowInterval, cancellationToken);
        }
    }
}
