using System.Text;
using System.Text.Json.Nodes;
using Cray.Artifacts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Ims.Tests;

/// <summary>The real server in-process over a fresh data directory; each test gets its own.</summary>
public sealed class ImsTestServer : WebApplicationFactory<Program>
{
    /// <summary>A fresh directory, or another server's: two servers on one data directory share its store, as servers share a database.</summary>
    public string DataDirectory
    {
        get
        {
            if (dataDirectory is null)
            {
                dataDirectory = Directory.CreateTempSubdirectory("ims-api-test-").FullName;
                ownsDataDirectory = true;
            }
            return dataDirectory;
        }
        init => dataDirectory = value;
    }

    private string? dataDirectory;

    /// <summary>Only the server that made the directory removes it: a server sharing another's leaves it to that one.</summary>
    private bool ownsDataDirectory;

    /// <summary>When set, the API (and everything else in the server) reads time from it.</summary>
    public TimeProvider? Clock { get; init; }

    /// <summary>When set, the ims-worker role runs too, on this clock, under this name.</summary>
    public (TimeProvider Clock, string Name)? Worker { get; init; }

    /// <summary>More server flags (without their dashes), such as the worker's architectures.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("data-dir", DataDirectory);
        builder.UseSetting("roles", "api");
        foreach (var (name, value) in Settings)
        {
            builder.UseSetting(name, value);
        }
        if (Clock is { } clock)
        {
            builder.ConfigureTestServices(services => services.AddSingleton(clock));
        }
        if (Worker is { } worker)
        {
            builder.UseSetting("worker-name", worker.Name);
            builder.ConfigureTestServices(services =>
            {
                services.AddImsWorker();
                services.AddSingleton(worker.Clock);
            });
        }
    }

    public IArtifactStore Artifacts => Services.GetRequiredService<IArtifactStore>();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && ownsDataDirectory)
        {
            // A job's directory may still be going away in the background (cleanup off the critical path).
            for (var attempt = 1; Directory.Exists(dataDirectory); attempt++)
            {
                try
                {
                    Directory.Delete(dataDirectory!, recursive: true);
                }
                catch (Exception exception) when (exception is IOException && attempt < 20)
                {
                    Thread.Sleep(100);
                }
            }
        }
    }

    public async Task<(int Status, JsonNode? Body, string? ContentType)> SendAsync(HttpMethod method, string path, string? json = null)
    {
        using var client = CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response.Content.Headers.ContentType?.MediaType);
    }

    public async Task<JsonNode> CreateImageAsync(string name = "image", string prefix = "/apis/ims/v3")
    {
        var (status, body, _) = await SendAsync(HttpMethod.Post, $"{prefix}/images", $$"""{"name":"{{name}}"}""");
        Assert.Equal(201, status);
        return body!;
    }

    public async Task PutObjectAsync(string key, string content, string bucket = "boot-images")
        => await Artifacts.PutAsync(bucket, key, new MemoryStream(Encoding.UTF8.GetBytes(content)));

    /// <summary>Uploads rootfs, kernel and initrd for an image and a v1.0 manifest listing them; returns the manifest path.</summary>
    public async Task<string> UploadImageFilesAsync(string imageId, int rootFileSystems = 1)
    {
        var artifacts = new JsonArray();
        for (var index = 0; index < rootFileSystems; index++)
        {
            var key = $"{imageId}/rootfs{index}";
            await PutObjectAsync(key, $"squashfs {index} of {imageId}");
            artifacts.Add(await EntryAsync(key, "application/vnd.cray.image.rootfs.squashfs"));
        }
        foreach (var (file, type) in new[] { ("kernel", "application/vnd.cray.image.kernel"), ("initrd", "application/vnd.cray.image.initrd") })
        {
            await PutObjectAsync($"{imageId}/{file}", $"{file} of {imageId}");
            artifacts.Add(await EntryAsync($"{imageId}/{file}", type));
        }
        var manifest = new JsonObject { ["artifacts"] = artifacts, ["created"] = "2025-01-02 10:11:12.123456", ["version"] = "1.0" };
        await PutObjectAsync($"{imageId}/manifest.json", manifest.ToJsonString());
        return $"s3://boot-images/{imageId}/manifest.json";
    }

    private async Task<JsonObject> EntryAsync(string key, string type)
    {
        var stored = (await Artifacts.HeadAsync("boot-images", key))!;
        return new()
        {
            ["link"] = new JsonObject { ["etag"] = stored.ETag, ["path"] = $"s3://boot-images/{key}", ["type"] = "s3" },
            ["md5"] = stored.Md5,
            ["type"] = type,
        };
    }

    public static string LinkBody(string path) => $$$"""{"link":{"path":"{{{path}}}","type":"s3"}}""";
}
