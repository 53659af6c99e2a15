namespace Cray.Ims.Tests;

public sealed class PublicKeysApiTests : IDisposable
{
    private readonly ImsTestServer server = new();

    public void Dispose() => server.Dispose();

    [Fact]
    public async Task CreateListDescribeAndSoftDeleteInV3()
    {
        var (status, key, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/public-keys", """{"name":"admin","public_key":"ssh-ed25519 AAAA admin@host\n"}""");
        Assert.Equal(201, status);
        Assert.Equal(["created", "id", "name", "public_key"], key!.AsObject().Select(p => p.Key));
        var id = (string)key["id"]!;

        var (_, described, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/public-keys/{id}");
        Assert.Equal("ssh-ed25519 AAAA admin@host\n", (string?)described!["public_key"]);

        (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/public-keys/{id}");
        Assert.Equal(204, status);
        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/public-keys/{id}");
        Assert.NotNull(deleted!["deleted"]);
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/deleted/public-keys/{id}", """{"operation":"undelete"}""");
        Assert.Equal(204, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/public-keys/{id}");
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task RootAndV2DeleteHard()
    {
        var (_, key, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/public-keys", """{"name":"cfs","public_key":"ssh-rsa AAAA"}""");
        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/public-keys/{key!["id"]}");
        Assert.Equal(204, status);
        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/deleted/public-keys");
        Assert.Empty(deleted!.AsArray());
        (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v2/public-keys/{key["id"]}");
        Assert.Equal(404, status);
    }

    [Theory]
    [InlineData("""{"name":"a"}""", "public_key", "Missing data for required field.")]
    [InlineData("""{"name":"","public_key":"k"}""", "name", "name field must not be blank")]
    [InlineData("""{"name":"a","public_key":"k","id":"x"}""", "id", "Unknown field.")]
    public async Task InvalidKeysAre422AndNotStored(string body, string field, string message)
    {
        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/public-keys", body);
        Assert.Equal(422, status);
        Assert.Equal(message, (string?)problem!["errors"]![field]![0]);
        var (_, keys, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/public-keys");
        Assert.Empty(keys!.AsArray());
    }
}
