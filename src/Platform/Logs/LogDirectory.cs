using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Cray.Platform.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Cray.Platform.Logs;

/// <summary>
/// One append-only log per job or session, each line time-stamped; served over HTTP (optionally
/// followed) in place of the reference's <c>kubectl logs</c>. Lines go to a file in a directory;
/// when the record store is shared between machines, they also go to the store in chunks (at most
/// <see cref="FlushInterval"/> behind, and all of them once <see cref="FlushAsync"/> returns), and
/// are served from there, so every API server shows what any worker wrote.
/// </summary>
public class LogDirectory : IAsyncDisposable
{
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How far behind the shared store a log may be while its item runs.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);

    private readonly ILogger? milestones;
    private readonly string subject;
    private readonly string directory;
    private readonly TimeProvider clock;
    private readonly IRecordStore? sharedStore;
    private readonly string chunkCollection;
    private readonly Lock writeLock = new();
    private readonly List<(string Id, string Text)> unflushed = [];
    private readonly SemaphoreSlim flushing = new(1, 1);
    private readonly CancellationTokenSource stopping = new();
    private readonly Task flusher;
    // Chunk ids sort by time, then by writer: two machines writing one log in the same tick never collide.
    private readonly string writer = Guid.NewGuid().ToString("n")[..8];

    /// <param name="store">The record store; its chunks are used only when it is shared between machines.</param>
    /// <param name="chunkCollection">The store collection that holds this directory's chunks.</param>
    /// <param name="milestones">Where the milestone lines (phases, failures) also go, naming their item: the server's own log.</param>
    /// <param name="subject">What an item is called there, such as "IMS job".</param>
    public LogDirectory(string directory, TimeProvider clock, IRecordStore? store = null, string chunkCollection = "log-chunks",
        ILogger? milestones = null, string subject = "item")
    {
        this.milestones = milestones;
        this.subject = subject;
        this.directory = directory;
        this.clock = clock;
        this.chunkCollection = chunkCollection;
        sharedStore = store is { IsSharedBetweenMachines: true } ? store : null;
        flusher = sharedStore is null ? Task.CompletedTask : FlushPeriodicallyAsync();
    }

    public string PathOf(string id) => Path.Combine(directory, id + ".log");

    public void Append(string id, string line)
    {
        // The server's log tells an operator what happened to which item; the item's own log has every line.
        if (milestones is not null && (line.StartsWith("Phase ", StringComparison.Ordinal) || line.StartsWith("Failed", StringComparison.Ordinal)))
        {
            milestones.Log(line.StartsWith("Failed", StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Information, "{Subject} {Id}: {Line}", subject, id, line);
        }
        var stamp = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
        var text = $"{stamp} {line}\n";
        lock (writeLock)
        {
            Directory.CreateDirectory(directory);
            File.AppendAllText(PathOf(id), text);
            if (sharedStore is not null)
            {
                unflushed.Add((id, text));
            }
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

    /// <summary>Writes every line appended so far to the shared store (nothing to do without one).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        if (sharedStore is null)
        {
            return;
        }
        await flushing.WaitAsync(cancellationToken);
        try
        {
            List<(string Id, string Text)> lines;
            lock (writeLock)
            {
                lines = [.. unflushed];
                unflushed.Clear();
            }
            if (lines.Count == 0)
            {
                return;
            }
            var ticks = clock.GetUtcNow().UtcTicks;
            var chunks = lines.GroupBy(line => line.Id)
                .Select(group => new LogChunk($"{group.Key}/{ticks:D19}-{writer}", string.Concat(group.Select(line => line.Text))))
                .Select(chunk => RecordWrite.Insert(chunkCollection, chunk.Key, chunk))
                .ToList();
            try
            {
                await sharedStore.WriteAsync(chunks, cancellationToken);
            }
            catch
            {
                // Kept for the next flush: a store that is briefly unreachable loses no line.
                lock (writeLock)
                {
                    unflushed.InsertRange(0, lines);
                }
                throw;
            }
        }
        finally
        {
            flushing.Release();
        }
    }

    public async Task DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (writeLock)
        {
            unflushed.RemoveAll(line => line.Id == id);
            if (Directory.Exists(directory))
            {
                File.Delete(PathOf(id));
            }
        }
        if (sharedStore is not null)
        {
            var chunks = await ChunksAsync(id, null, cancellationToken).Select(chunk => RecordWrite.Delete(chunkCollection, chunk.Key)).ToListAsync(cancellationToken);
            await sharedStore.WriteAsync(chunks, cancellationToken);
        }
    }

    /// <summary>
    /// Writes the log as text; when following, keeps writing what is appended until
    /// <paramref name="isFinished"/> says the job or session is over (or gone) and all is sent.
    /// </summary>
    public Task StreamAsync(string id, bool follow, Func<Task<bool>> isFinished, HttpContext context)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return sharedStore is null ? StreamFileAsync(id, follow, isFinished, context) : StreamChunksAsync(id, follow, isFinished, context);
    }

    private async Task StreamFileAsync(string id, bool follow, Func<Task<bool>> isFinished, HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
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

    /// <summary>The log from the shared store: what every worker wrote, wherever it ran.</summary>
    private async Task StreamChunksAsync(string id, bool follow, Func<Task<bool>> isFinished, HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        string? last = null;
        while (true)
        {
            // Read whether it is finished before reading: its writers flush before they say so.
            var finished = !follow || await isFinished();
            await foreach (var chunk in ChunksAsync(id, last, cancellationToken))
            {
                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(chunk.Text), cancellationToken);
                last = chunk.Key;
            }
            await context.Response.Body.FlushAsync(cancellationToken);
            if (finished)
            {
                return;
            }
            await Task.Delay(FollowInterval, cancellationToken);
        }
    }

    /// <summary>The chunks of one log in order, after <paramref name="afterKey"/>.</summary>
    private async IAsyncEnumerable<LogChunk> ChunksAsync(string id, string? afterKey,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = id + "/";
        await foreach (var chunk in sharedStore!.ScanByIdAsync<LogChunk>(chunkCollection, afterKey ?? prefix, cancellationToken: cancellationToken))
        {
            if (!chunk.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield break;
            }
            yield return chunk;
        }
    }

    private async Task FlushPeriodicallyAsync()
    {
        // Real time, not the injected clock: how often lines reach the store is not part of any job's timing.
        using var timer = new PeriodicTimer(FlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping.Token))
            {
                try
                {
                    await FlushAsync(stopping.Token);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // Kept and written at the next tick.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await flusher;
        try
        {
            await FlushAsync(CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The store is gone at shutdown: the lines remain in the local files.
        }
        stopping.Dispose();
        flushing.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Lines of one log from one flush; the key (also the record's id) orders them.</summary>
    private sealed record LogChunk([property: JsonPropertyName("key")] string Key, [property: JsonPropertyName("text")] string Text);
}
