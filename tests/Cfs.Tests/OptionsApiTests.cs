namespace Cray.Cfs.Tests;

public sealed class OptionsApiTests : IDisposable
{
    private readonly CfsTestServer server = new();

    public void Dispose() => server.Dispose();

    [Fact]
    public async Task EveryOptionHasItsDefaultOnRead()
    {
        var (status, options) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/options");
        Assert.Equal(200, status);
        Assert.Equal("cfs-default-ansible-cfg", (string?)options!["default_ansible_config"]);
        Assert.Equal("site.yml", (string?)options["default_playbook"]);
        Assert.Equal(1000, (int?)options["default_page_size"]);
        Assert.True((bool)options["include_ara_links"]!);
        Assert.Equal("7d", (string?)options["session_ttl"]);
        Assert.Equal(3600, (int?)options["debug_wait_time"]);
        // Ours only when asked for: the reference's schema allows no other property.
        Assert.False(options.AsObject().ContainsKey("image_wait_timeout"));
        Assert.False(options.AsObject().ContainsKey("session_timeout"));
        (_, options) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/options?extensions=true");
        Assert.Equal("1h", (string?)options!["image_wait_timeout"]);
        Assert.Equal("12h", (string?)options["session_timeout"]);
        var (_, patched) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", """{"session_timeout":"2h"}""");
        Assert.False(patched!.AsObject().ContainsKey("session_timeout"));
        (_, patched) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options?extensions=true", """{"session_timeout":"12h"}""");
        Assert.Equal("12h", (string?)patched!["session_timeout"]);
        var (_, v2) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/options");
        Assert.Equal("7d", (string?)v2!["sessionTTL"]);
        Assert.False(v2.AsObject().ContainsKey("default_page_size"));
        Assert.False(v2.AsObject().ContainsKey("include_ara_links"));
    }

    [Fact]
    public async Task PatchMergesAndRejectsUnknownReadOnlyAndInvalidValues()
    {
        var (status, options) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", """{"session_ttl":"24h","batcher_disable":true}""");
        Assert.Equal(200, status);
        Assert.Equal("24h", (string?)options!["session_ttl"]);
        Assert.True((bool)options["batcher_disable"]!);
        Assert.Equal(1000, (int?)options["default_page_size"]);
        (_, options) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v2/options", """{"sessionTTL":"","defaultPlaybook":"main.yml"}""");
        Assert.Equal("", (string?)options!["sessionTTL"]);
        Assert.Equal("main.yml", (string?)options["defaultPlaybook"]);

        foreach (var (body, detail) in new[]
        {
            ("""{"default_playbook":"x.yml"}""", "Property is read-only"),
            ("""{"no_such_option":1}""", "Additional properties are not allowed"),
            ("""{"session_ttl":"soon"}""", "does not match"),
            ("""{"default_page_size":0}""", "less than the minimum of 1"),
            ("""{"logging_level":"LOUD"}""", "is not one of"),
            ("""{"include_ara_links":"yes"}""", "is not of type 'boolean'"),
        })
        {
            var (rejected, problem) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", body);
            Assert.Equal(400, rejected);
            Assert.Contains(detail, (string?)problem!["detail"]);
        }
        var (v2Rejected, _) = await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v2/options", """{"default_page_size":5}""");
        Assert.Equal(400, v2Rejected);
        var (_, final) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/options");
        Assert.Equal("main.yml", (string?)final!["default_playbook"]);
        Assert.Equal("INFO", (string?)final["logging_level"]);
    }

    [Fact]
    public async Task VersionsAndHealth()
    {
        foreach (var path in new[] { "/apis/cfs/", "/apis/cfs/versions", "/apis/cfs/v2", "/apis/cfs/v3" })
        {
            var (status, version) = await server.SendAsync(HttpMethod.Get, path);
            Assert.Equal(200, status);
            Assert.Equal(["major", "minor", "patch"], version!.AsObject().Select(pair => pair.Key));
        }
        var (healthy, health) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/healthz");
        Assert.Equal(200, healthy);
        Assert.Equal("ok", (string?)health!["db_status"]);
    }
}
