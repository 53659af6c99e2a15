using System.Text;
using System.Text.Json.Nodes;
using Cray.Artifacts;
using Cray.Cfs.Runner;
using Cray.Processes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs.Tests;

/// <summary>The real server in-process (API role only) over a fresh data directory, with a local git repository for layers.</summary>
public sealed class CfsTestServer : WebApplicationFactory<Program>
{
    /// <summary>A fresh directory, or another server's: two servers on one data directory share its store, as servers share a database.</summary>
    public string DataDirectory { get; init; } = Directory.CreateTempSubdirectory("cfs-api-test-").FullName;

    public string Repository => Path.Combine(DataDirectory, "repo");

    /// <summary>The --auth setting: none, or token.</summary>
    public string Auth { get; init; } = "none";

    /// <summary>When set, the cfs-runner role runs too, on this clock, and reaches IMS in-process.</summary>
    public TimeProvider? RunnerClock { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("data-dir", DataDirectory);
        builder.UseSetting("roles", "api");
        builder.UseSetting("auth", Auth);
        if (RunnerClock is { } clock)
        {
            builder.ConfigureTestServices(services =>
            {
                services.AddCfsRunner();
                services.AddSingleton(clock);
                // The runner is built while the server starts, before Server may be asked for.
                services.AddHttpClient<ImsClient>().ConfigurePrimaryHttpMessageHandler(() => new DeferredHandler(() => Server.CreateHandler()));
            });
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }

    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? json = null, string? tenant = null)
    {
        using var client = CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        if (tenant is not null)
        {
            request.Headers.Add("Cray-Tenant-Name", tenant);
        }
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>A git repository with a main branch; returns the commit at its head.</summary>
    public async Task<string> CommitAsync(string file, string content)
    {
        Directory.CreateDirectory(Repository);
        async Task<ProcessResult> Git(params string[] arguments)
            => await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("git", ["-C", Repository, "-c", "user.name=test", "-c", "user.email=test@example.com", .. arguments]));
        if (!Directory.Exists(Path.Combine(Repository, ".git")))
        {
            await Git("init", "-q", "-b", "main");
        }
        await File.WriteAllTextAsync(Path.Combine(Repository, file), content);
        await Git("add", file);
        await Git("commit", "-q", "--allow-empty", "-m", "change " + file);
        return (await Git("rev-parse", "HEAD")).Output.Trim();
    }

    public async Task PutConfigurationAsync(string name = "configurations-example")
    {
        await CommitAsync("site.yml", "- hosts: all\n");
        var (status, body) = await SendAsync(HttpMethod.Put, $"/apis/cfs/v3/configurations/{name}",
            $$$"""{"layers":[{"name":"base","clone_url":"{{{Repository}}}","branch":"main","playbook":"site.yml"}]}""");
        Assert.True(status == 200, body?.ToJsonString());
    }

    /// <summary>A rootfs, kernel and initrd and a v1.0 manifest listing them; returns the manifest's path.</summary>
    public async Task<string> UploadImageFilesAsync(string imageId)
    {
        var store = Services.GetRequiredService<IArtifactStore>();
        var artifacts = new JsonArray();
        foreach (var (file, type) in new[]
        {
            ("rootfs", "application/vnd.cray.image.rootfs.squashfs"), ("kernel", "application/vnd.cray.image.kernel"), ("initrd", "application/vnd.cray.image.initrd"),
        })
        {
            var stored = await store.PutAsync("boot-images", $"{imageId}/{file}", new MemoryStream(Encoding.UTF8.GetBytes($"{file} of {imageId}")));
            artifacts.Add(new JsonObject
            {
                ["link"] = new JsonObject { ["etag"] = stored.ETag, ["path"] = $"s3://boot-images/{imageId}/{file}", ["type"] = "s3" },
                ["md5"] = stored.Md5,
                ["type"] = type,
            });
        }
        var manifest = new JsonObject { ["artifacts"] = artifacts, ["created"] = "2025-01-02 10:11:12.123456", ["version"] = "1.0" };
        await store.PutAsync("boot-images", $"{imageId}/manifest.json", new MemoryStream(Encoding.UTF8.GetBytes(manifest.ToJsonString())));
        return $"s3://boot-images/{imageId}/manifest.json";
    }

    /// <summary>Sends through the handler <paramref name="create"/> makes at the first request.</summary>
    private sealed class DeferredHandler(Func<HttpMessageHandler> create) : HttpMessageHandler
    {
        private readonly Lazy<HttpMessageInvoker> invoker = new(() => new HttpMessageInvoker(create()));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            => invoker.Value.SendAsync(request, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing && invoker.IsValueCreated)
            {
                invoker.Value.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
