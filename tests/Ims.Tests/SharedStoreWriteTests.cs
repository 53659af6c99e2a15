namespace Cray.Ims.Tests;

/// <summary>Two API servers on one store: a link path stays unique however their writes interleave.</summary>
public sealed class SharedStoreWriteTests : IDisposable
{
    private readonly ImsTestServer first = new();
    private readonly ImsTestServer second;

    public SharedStoreWriteTests() => second = new ImsTestServer { DataDirectory = first.DataDirectory };

    public void Dispose()
    {
        second.Dispose();
        first.Dispose();
    }

    [Fact]
    public async Task OfImagesLinkedToOneManifestAtOnceThroughTwoServersExactlyOneGetsIt()
    {
        var source = (string)(await first.CreateImageAsync("source"))["id"]!;
        var manifest = await first.UploadImageFilesAsync(source);
        var images = new List<string>();
        for (var index = 0; index < 8; index++)
        {
            images.Add((string)(await (index % 2 == 0 ? first : second).CreateImageAsync($"racer-{index}"))["id"]!);
        }

        var answers = await Task.WhenAll(images.Select((id, index) =>
            (index % 2 == 0 ? first : second).SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", ImsTestServer.LinkBody(manifest))));

        Assert.Equal(1, answers.Count(answer => answer.Status == 200));
        Assert.All(answers.Where(answer => answer.Status != 200), answer =>
        {
            Assert.Equal(422, answer.Status);
            Assert.Contains("The link value must be unique.", answer.Body!["errors"]!["link"]![0]!.GetValue<string>());
        });
        var (_, all, _) = await second.SendAsync(HttpMethod.Get, "/apis/ims/v3/images");
        Assert.Single(all!.AsArray(), image => image!["link"] is { } link && (string?)link["path"] == manifest);
    }
}
