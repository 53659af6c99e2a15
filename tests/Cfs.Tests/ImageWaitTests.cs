using System.Text.Json.Nodes;
using Cray.Cfs.Runner;
using Cray.Cfs.Sessions;
using Cray.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Cray.Cfs.Tests;

/// <summary>
/// The seed's promise that a session waits for an image IMS does not have yet, bounded by
/// image_wait_timeout: checked against the real IMS API in-process, with the clock injected so hours pass at once.
/// </summary>
public sealed class ImageWaitTests : IDisposable
{
    private readonly CfsTestServer server = new();
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private readonly List<string> log = [];

    public void Dispose() => server.Dispose();

    private ImageCustomization Customization()
    {
        var options = server.Services.GetRequiredService<CfsRunnerOptions>();
        return new ImageCustomization(server.Services.GetRequiredService<SessionService>(), new ImsClient(server.CreateClient(), options), options, ProcessRunner.Instance, clock);
    }

    private Task<Dictionary<string, JsonObject>> WaitAsync(string imageId)
        => Customization().WaitForImagesAsync([imageId], new JsonObject { ["image_wait_timeout"] = "2h" }, line => { lock (log) { log.Add(line); } }, CancellationToken.None);

    /// <summary>Moves the clock on until the wait ends (each step lets the wait's next check run).</summary>
    private async Task<TimeSpan> AdvanceUntilDoneAsync(Task waiting, TimeSpan step)
    {
        var started = clock.GetUtcNow();
        for (var steps = 0; !waiting.IsCompleted && steps < 10_000; steps++)
        {
            clock.Advance(step);
            await Task.WhenAny(waiting, Task.Delay(5));
        }
        return clock.GetUtcNow() - started;
    }

    [Fact]
    public async Task AnImageThatNeverComesFailsTheSessionAtImageWaitTimeout()
    {
        var missing = Guid.NewGuid().ToString();
        var waiting = WaitAsync(missing);
        var waited = await AdvanceUntilDoneAsync(waiting, TimeSpan.FromMinutes(10));

        var failure = await Assert.ThrowsAsync<SessionFailedException>(() => waiting);
        Assert.Equal($"These images were not available in IMS within the image_wait_timeout option (02:00:00): {missing}.", failure.Message);
        // Not before the bound (the steps may overshoot it while a check is under way).
        Assert.True(waited >= TimeSpan.FromHours(2), $"failed after {waited}");
        Assert.Contains($"Waiting for image {missing}: IMS does not know it yet (waiting up to 02:00:00, the image_wait_timeout option).", log);
    }

    [Fact]
    public async Task AnImageThatGetsItsArtifactsWhileTheSessionWaitsEndsTheWait()
    {
        var (_, image) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"late"}""");
        var imageId = (string)image!["id"]!;
        var waiting = WaitAsync(imageId);
        await AdvanceUntilDoneAsync(Task.WhenAny(waiting, Task.Delay(TimeSpan.FromMilliseconds(200))), TimeSpan.FromMinutes(1));
        Assert.False(waiting.IsCompleted);

        var manifest = await server.UploadImageFilesAsync(imageId);
        var (status, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{imageId}", $$$"""{"link":{"type":"s3","path":"{{{manifest}}}"}}""");
        Assert.Equal(200, status);
        await AdvanceUntilDoneAsync(waiting, TimeSpan.FromSeconds(2));

        var found = await waiting;
        Assert.Equal(imageId, (string?)found[imageId]["id"]);
        Assert.Contains($"Waiting for image {imageId}: IMS has its record but no artifacts yet (waiting up to 02:00:00).", log);
        Assert.Contains($"Image {imageId} is now available in IMS.", log);
    }
}
