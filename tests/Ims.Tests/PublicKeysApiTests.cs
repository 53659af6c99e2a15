namespace Cray.Ims.Tests;

public sealed class PublicKeysApiTests : IDisposable
{
    private readonly ImsTestServer server = new();

    public void Dispose() => server.Dispose();

    [Fact]
    public async Task CreateListDescribeAndSoftDeleteInV3()
    {
        var (status, key, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/public-keys", """{"name":"admin","public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX admin@host\n"}""");
        Assert.Equal(201, status);
        Assert.Equal(["created", "id", "name", "public_key"], key!.AsObject().Select(p => p.Key));
        var id = (string)key["id"]!;

        var (_, described, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/public-keys/{id}");
        Assert.Equal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX admin@host\n", (string?)described!["public_key"]);

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
        var (_, key, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/public-keys", """{"name":"cfs","public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX"}""");
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

    private const string Blob = "AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX";

    [Theory]
    [InlineData("ssh-ed25519 " + Blob + " a\nssh-ed25519 " + Blob + " b", "one line")]
    [InlineData("command=\"/bin/sh\" ssh-ed25519 " + Blob, "options such as command=")]
    [InlineData("from=\"10.0.0.0/8\",no-pty ssh-ed25519 " + Blob, "options such as command=")]
    [InlineData("ssh-foo " + Blob, "starts with its type")]
    [InlineData("ssh-ed25519", "starts with its type")]
    [InlineData("ssh-ed25519 not*base64", "not valid base64")]
    [InlineData("ssh-rsa " + Blob, "not a ssh-rsa key")]
    [InlineData("ssh-ed25519 AAAA", "not a ssh-ed25519 key")]
    public async Task KeysThatAreNotOneOpenSshPublicKeyAre422(string key, string expected)
    {
        var body = new System.Text.Json.Nodes.JsonObject { ["name"] = "a", ["public_key"] = key }.ToJsonString();
        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/public-keys", body);
        Assert.Equal(422, status);
        Assert.Contains(expected, (string?)problem!["errors"]!["public_key"]![0]);
        var (_, keys, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/public-keys");
        Assert.Empty(keys!.AsArray());
    }
}
