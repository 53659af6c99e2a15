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

    [Theory]
    [InlineData("bytes=2-5", "2345", "bytes 2-5/10")]
    [InlineData("bytes=7-", "789", "bytes 7-9/10")]
    [InlineData("bytes=-2", "89", "bytes 8-9/10")]
    [InlineData("bytes=8-400", "89", "bytes 8-9/10")]
    public async Task ARangeIsAnsweredWithExactlyThoseBytes(string range, string expected, string contentRange)
    {
        await server.Artifacts.PutAsync("boot-images", "digits", new MemoryStream("0123456789"u8.ToArray()));
        using var client = server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/apis/artifacts/boot-images/digits");
        request.Headers.TryAddWithoutValidation("Range", range);
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(contentRange, response.Content.Headers.ContentRange!.ToString());
        Assert.Equal(expected, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ARangePastTheEndIs416AndSeveralRangesGetTheWholeObject()
    {
        await server.Artifacts.PutAsync("boot-images", "digits", new MemoryStream("0123456789"u8.ToArray()));
        using var client = server.CreateClient();
        using var past = new HttpRequestMessage(HttpMethod.Get, "/apis/artifacts/boot-images/digits");
        past.Headers.TryAddWithoutValidation("Range", "bytes=10-");
        var refused = await client.SendAsync(past);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);

        using var several = new HttpRequestMessage(HttpMethod.Get, "/apis/artifacts/boot-images/digits");
        several.Headers.TryAddWithoutValidation("Range", "bytes=0-1,4-5");
        var whole = await client.SendAsync(several);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("0123456789", await whole.Content.ReadAsStringAsync());

        using var unchanged = new HttpRequestMessage(HttpMethod.Get, "/apis/artifacts/boot-images/digits");
        unchanged.Headers.TryAddWithoutValidation("If-None-Match", whole.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(unchanged)).StatusCode);
    }

    [Fact]
    public async Task AnMd5SumMetadataThatIsNotTheContentsIs400()
    {
        using var client = server.CreateClient();
        var content = new ByteArrayContent("real"u8.ToArray());
        content.Headers.Add("x-amz-meta-md5sum", Convert.ToHexStringLower(MD5.HashData("other"u8)));
        var put = await client.PutAsync("/apis/artifacts/boot-images/k", content);
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Null(await server.Artifacts.HeadAsync("boot-images", "k"));
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
        Assert.Null(await server.Artifacts.HeadAsync("boot-images", "k"));
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
        Assert.Empty(await server.Artifacts.ListObjectsAsync("boot-images").ToListAsync());
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
        Assert.Equal(1, (await server.Artifacts.HeadAsync("boot-images", longest))!.Size);
        Assert.True(await server.Artifacts.DeleteAsync("boot-images", longest));
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
        Assert.Equal(payload.Length, (await server.Artifacts.HeadAsync("boot-images", "large"))!.Size);
    }
}
