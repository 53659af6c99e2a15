using Cray.Ims.Images;
using Cray.Ims.Model;
using Cray.Ims.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Ims.Tests;

/// <summary>The worker's port to IMS's image records, in-process: register, link, ask, remove.</summary>
public sealed class ImageRegistryTests : IDisposable
{
    private readonly ImsTestServer server = new();

    public void Dispose() => server.Dispose();

    [Fact]
    public async Task ARegisteredImageIsUnlinkedUntilLinkedAndGoneWithItsArtifactsOnceRemoved()
    {
        _ = server.CreateClient();
        var registry = new LocalImageRegistry(server.Services.GetRequiredService<ImageService>());
        var imageId = await registry.RegisterAsync("result", "aarch64", CancellationToken.None);
        Assert.False(await registry.IsLinkedAsync(imageId, CancellationToken.None));
        var (status, image, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{imageId}");
        Assert.Equal(200, status);
        Assert.Equal("result", (string?)image!["name"]);
        Assert.Equal("aarch64", (string?)image["arch"]);

        var manifest = await server.UploadImageFilesAsync(imageId);
        await registry.LinkAsync(imageId, ArtifactLink.S3(manifest, (await server.Artifacts.HeadAsync("boot-images", $"{imageId}/manifest.json"))!.ETag), CancellationToken.None);
        Assert.True(await registry.IsLinkedAsync(imageId, CancellationToken.None));

        await registry.RemoveAsync(imageId, CancellationToken.None);
        Assert.Null(await registry.IsLinkedAsync(imageId, CancellationToken.None));
        Assert.Empty(await server.Artifacts.ListObjectsAsync("boot-images", imageId + "/").ToListAsync());
        // Removing what is already gone is no error: recovery may meet an image twice.
        await registry.RemoveAsync(imageId, CancellationToken.None);
    }
}
