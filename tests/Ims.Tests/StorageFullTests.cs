using System.Net;
using Cray.Processes;

namespace Cray.Ims.Tests;

/// <summary>
/// The server on a data directory that fills up (a small tmpfs): a write that does not fit is a 507
/// that says which, nothing of it is kept, reads go on, and writes work again once space is freed.
/// </summary>
public sealed class StorageFullTests : IAsyncLifetime
{
    private readonly ImsTestServer server = new();

    public async Task InitializeAsync()
        => await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("mount", ["-t", "tmpfs", "-o", "size=6m,mode=0700", "cray-full-test", server.DataDirectory]));

    public async Task DisposeAsync()
    {
        // Lazily: the server still holds its database open on it until it is disposed.
        await ProcessRunner.Instance.RunAsync(new ProcessRequest("umount", ["--lazy", server.DataDirectory]));
        server.Dispose();
    }

    [Fact]
    public async Task AWriteThatDoesNotFitIs507AndTheServerRecoversWhenSpaceIsFreed()
    {
        Assert.Equal(201, (await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"fits"}""")).Status);

        // An object bigger than the disk.
        using var client = server.CreateClient();
        var put = await client.PutAsync("/apis/artifacts/boot-images/too-big", new ByteArrayContent(new byte[8 << 20]));
        Assert.Equal(HttpStatusCode.InsufficientStorage, put.StatusCode);
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType?.MediaType);
        Assert.Contains("The server's storage is full: PUT /apis/artifacts/boot-images/too-big could not be written", await put.Content.ReadAsStringAsync());
        Assert.Empty(await server.Artifacts.ListObjectsAsync("boot-images").ToListAsync());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(server.DataDirectory, "artifacts", "uploads")));

        // Reads go on, and a write that fits succeeds.
        var (status, images, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/images");
        Assert.Equal(200, status);
        Assert.Single(images!.AsArray());
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsync("/apis/artifacts/boot-images/small", new ByteArrayContent(new byte[1024]))).StatusCode);

        // The database's writes too: fill the disk, try, free it, try again.
        var filler = Path.Combine(server.DataDirectory, "filler");
        await FillAsync(filler);
        var bigRecord = new System.Text.Json.Nodes.JsonObject { ["name"] = new string('x', 64 * 1024) }.ToJsonString();
        var (full, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", bigRecord);
        Assert.Equal(507, full);
        Assert.Contains("POST /apis/ims/v3/images", (string?)problem!["detail"]);
        File.Delete(filler);
        Assert.Equal(201, (await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"after"}""")).Status);
        (_, images, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/images");
        Assert.Equal(["after", "fits"], images!.AsArray().Select(image => (string)image!["name"]!).Order());
    }

    private static async Task FillAsync(string path)
    {
        // Unbuffered, so that closing it has nothing left to write.
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        var chunk = new byte[64 * 1024];
        try
        {
            while (true)
            {
                await file.WriteAsync(chunk);
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }
}
