using System.Text;
using Cray.Platform.Logs;
using Cray.Platform.Storage;
using Cray.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace Cray.Platform.Tests;

/// <summary>
/// Logs when the record store is shared between machines: what two servers write (each to its own
/// directory) is served whole, in order, by a third that wrote nothing.
/// </summary>
public sealed class SharedLogTests(PostgresTestServer server) : IClassFixture<PostgresTestServer>, IAsyncLifetime
{
    private readonly List<string> directories = [];
    private readonly List<LogDirectory> logs = [];
    private PostgresRecordStore? store;

    public async Task InitializeAsync() => store = await PostgresRecordStore.OpenAsync(await server.CreateDatabaseAsync());

    public async Task DisposeAsync()
    {
        foreach (var log in logs)
        {
            await log.DisposeAsync();
        }
        await store!.DisposeAsync();
        foreach (var directory in directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A server's log directory: a directory of its own, the shared store.</summary>
    private LogDirectory Server()
    {
        var directory = Directory.CreateTempSubdirectory("shared-log-").FullName;
        directories.Add(directory);
        var log = new LogDirectory(directory, TimeProvider.System, store, "test-logs");
        logs.Add(log);
        return log;
    }

    private static async Task<string> ReadAsync(LogDirectory log, string id, bool follow = false, Func<Task<bool>>? isFinished = null)
    {
        var context = new DefaultHttpContext();
        using var body = new MemoryStream();
        context.Response.Body = body;
        await log.StreamAsync(id, follow, isFinished ?? (() => Task.FromResult(true)), context);
        return Encoding.UTF8.GetString(body.ToArray());
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line[24..]).ToArray();

    [Fact]
    public async Task LinesTwoServersWroteAreServedByAThirdInOrder()
    {
        var api = Server();
        var worker = Server();
        var reader = Server();
        api.Append("job-1", "Job created.");
        await api.FlushAsync();
        worker.Append("job-1", "Claimed by worker b.");
        worker.Append("job-1", "Success.");
        worker.Append("job-2", "another job");
        await worker.FlushAsync();

        Assert.Equal(["Job created.", "Claimed by worker b.", "Success."], Lines(await ReadAsync(reader, "job-1")));
        Assert.Equal(["another job"], Lines(await ReadAsync(reader, "job-2")));
        Assert.Empty(await ReadAsync(reader, "job-"));
        Assert.False(File.Exists(reader.PathOf("job-1")));
    }

    [Fact]
    public async Task AFollowerOnAnotherServerSeesLinesAsTheyComeAndStopsWhenTheWorkIsOver()
    {
        var worker = Server();
        var reader = Server();
        var finished = false;
        worker.Append("s", "first");
        var following = ReadAsync(reader, "s", follow: true, isFinished: () => Task.FromResult(Volatile.Read(ref finished)));
        await Task.Delay(300);
        worker.Append("s", "second");
        worker.Append("s", "last");
        // The periodic flush sends the lines; the writer flushes before it says the work is over.
        await Task.Delay(LogDirectory.FlushInterval * 3);
        await worker.FlushAsync();
        Volatile.Write(ref finished, true);
        Assert.Equal(["first", "second", "last"], Lines(await following.WaitAsync(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public async Task DeletingALogRemovesItsChunksEverywhere()
    {
        var worker = Server();
        var reader = Server();
        worker.Append("gone", "line");
        worker.Append("kept", "line");
        await worker.FlushAsync();
        await reader.DeleteAsync("gone");
        Assert.Empty(await ReadAsync(worker, "gone"));
        Assert.Equal(["line"], Lines(await ReadAsync(worker, "kept")));
    }
}
