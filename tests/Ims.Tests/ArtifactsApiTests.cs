using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Cray.Ims.Tests;

public sealed class ArtifactsApiTests : IDisposable
{
    private readonly ImsTestServer server = new();

    public void Dispose() => server.Dispose();

    [Fact]
    public async Task PutHeadGetListAndDeleteAnObject()
    {
        using var client = server.CreateClient();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("kernel bytes"));
        content.Headers.Add("x-amz-meta-x-shasta-ims-image-id", "abc");
        var put = await client.PutAsync("/apis/artifacts/boot-images/abc/kernel", content);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var md5 = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes("kernel bytes")));
        Assert.Equal($"\"{md5}\"", put.Headers.ETag!.Tag);

        var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/apis/artifacts/boot-images/abc/kernel"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(12, head.Content.Headers.ContentLength);
        Assert.Equal("abc", head.Headers.GetValues("x-amz-meta-x-shasta-ims-image-id").Single());
        Assert.Equal(md5, head.Headers.GetValues("x-amz-meta-md5sum").Single());

        Assert.Equal("kernel bytes", await client.GetStringAsync("/apis/artifacts/boot-images/abc/kernel"));
        var listing = await client.GetStringAsync("/apis/artifacts/boot-images?prefix=abc/");
        Assert.Contains("\"Key\":\"abc/kernel\"", listing);
        Assert.Contains("boot-images", await client.GetStringAsync("/apis/artifacts"));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/apis/artifacts/boot-images/abc/kernel")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/apis/artifacts/boot-images/abc/kernel")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/apis/artifacts/boot-images/abc/kernel")).StatusCode);
    }

    [Fact]
    public async Task ContentMd5MismatchIs400AndNothingIsStored()
    {
        using var client = server.CreateClient();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("real"));
        content.Headers.ContentMD5 = MD5.HashData(Encoding.UTF8.GetBytes("other"));
        var put = await client.PutAsync("/apis/artifacts/boot-images/k", content);
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType!.MediaType);
        Assert.Null(server.Artifacts.Head("boot-images", "k"));
    }

    [Theory]
    [InlineData("/apis/artifacts/boot-images/..%2F..%2Fcray.db")]
    [InlineData("/apis/artifacts/boot-images/a%5C..%5C..%5Cx")]
    [InlineData("/apis/artifacts/Bad_Bucket/k")]
    public async Task NamesThatTryToLeaveTheDataDirectoryAre400(string path)
    {
        using var client = server.CreateClient();
        var put = await client.PutAsync(path, new ByteArrayContent([1, 2, 3]));
        Assert.True(put.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path}: {put.StatusCode}");
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType!.MediaType);
        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "cray.db")));
        Assert.Empty(server.Artifacts.ListObjects("boot-images"));
    }

    [Fact]
    public async Task KeysOverTheStoresLimitsAre400ThatStatesThem()
    {
        using var client = server.CreateClient();
        foreach (var key in new[] { new string('s', 251), $"a/{new string('s', 300)}/b", string.Join('/', Enumerable.Repeat(new string('k', 200), 6)) })
        {
            var put = await client.PutAsync($"/apis/artifacts/boot-images/{key}", new ByteArrayContent([1, 2, 3]));
            Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
            Assert.Equal("application/problem+json", put.Content.Headers.ContentType!.MediaType);
            Assert.Contains("1 to 1024 bytes whose '/'-separated segments are 1 to 250 bytes each", await put.Content.ReadAsStringAsync());
        }
        // The longest segment the store takes, for content and metadata alike.
        var longest = new string('s', 250);
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsync($"/apis/artifacts/boot-images/{longest}", new ByteArrayContent([1]))).StatusCode);
        Assert.Equal(1, server.Artifacts.Head("boot-images", longest)!.Size);
        Assert.True(server.Artifacts.Delete("boot-images", longest));
    }

    [Fact]
    public async Task UnknownBucketIs404()
    {
        using var client = server.CreateClient();
        var response = await client.PutAsync("/apis/artifacts/no-such-bucket/k", new ByteArrayContent([1]));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await response.Content.ReadAsStringAsync();
        Assert.Contains("does not exist", problem);
    }

    [Fact]
    public async Task LargeUploadIsNotLimitedByTheJsonBodyLimit()
    {
        using var client = server.CreateClient();
        var payload = new byte[8 * 1024 * 1024];
        Random.Shared.NextBytes(payload);
        var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var put = await client.PutAsync("/apis/artifacts/boot-images/large", content);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(payload.Length, server.Artifacts.Head("boot-images", "large")!.Size);
    }
}
