using System.Text.Json.Nodes;
using Cray.Ims.Images;
using Cray.Processes;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Ims.Tests;

/// <summary>GET /images/{id}/diff/{other_id} (ours) over registered images.</summary>
public sealed class ImageDiffApiTests : IDisposable
{
    private readonly ImsTestServer server = new();
    private readonly string workspace = Directory.CreateTempSubdirectory("image-diff-api-").FullName;

    public void Dispose()
    {
        server.Dispose();
        Directory.Delete(workspace, recursive: true);
    }

    /// <summary>An image whose manifest lists the file as its root file system.</summary>
    private async Task<string> RegisterAsync(string name, string rootFileSystem)
    {
        var id = (string)(await server.CreateImageAsync(name))["id"]!;
        await using (var content = File.OpenRead(rootFileSystem))
        {
            await server.Artifacts.PutAsync("boot-images", $"{id}/rootfs", content);
        }
        var stored = (await server.Artifacts.HeadAsync("boot-images", $"{id}/rootfs"))!;
        var manifest = new JsonObject
        {
            ["artifacts"] = new JsonArray(new JsonObject
            {
                ["link"] = new JsonObject { ["etag"] = stored.ETag, ["path"] = $"s3://boot-images/{id}/rootfs", ["type"] = "s3" },
                ["md5"] = stored.Md5,
                ["type"] = "application/vnd.cray.image.rootfs.squashfs",
            }),
            ["created"] = "2025-01-02 10:11:12.123456",
            ["version"] = "1.0",
        };
        await server.PutObjectAsync($"{id}/manifest.json", manifest.ToJsonString());
        var (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", ImsTestServer.LinkBody($"s3://boot-images/{id}/manifest.json"));
        Assert.Equal(200, status);
        return id;
    }

    [Fact]
    public async Task TheDifferenceOfTwoImagesIsTheirFilesAndPackages()
    {
        var (fromPath, toPath) = await DifferingImages.BuildAsync(workspace);
        var from = await RegisterAsync("before", fromPath);
        var to = await RegisterAsync("after", toPath);

        var (status, body, contentType) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{from}/diff/{to}");

        Assert.Equal(200, status);
        Assert.Equal("application/json", contentType);
        Assert.Equal(["from", "to", "files", "packages", "notes"], body!.AsObject().Select(member => member.Key));
        Assert.Equal(new JsonObject { ["id"] = from, ["name"] = "before" }.ToJsonString(), body["from"]!.ToJsonString());
        Assert.Equal("after", (string?)body["to"]!["name"]);
        Assert.Equal("""{"path":"/added-directory/file","type":"file","mode":"0644","uid":0,"gid":0,"size":4}""", body["files"]!["added"]![1]!.ToJsonString());
        Assert.Equal("""{"path":"/bin/sh","changes":{"link_target":["dash","bash"]}}""",
            body["files"]!["changed"]!.AsArray().Single(change => (string?)change!["path"] == "/bin/sh")!.ToJsonString());
        Assert.Equal("""{"path":"/kind","changes":{"type":["file","directory"],"mode":["0644","0755"]}}""",
            body["files"]!["changed"]!.AsArray().Single(change => (string?)change!["path"] == "/kind")!.ToJsonString());
        Assert.Equal("dpkg", (string?)body["packages"]!["manager"]);
        Assert.Equal("""[{"name":"bash","architecture":"amd64","from":"5.2.15-2","to":"5.2.15-3"},{"name":"libc6","architecture":"amd64","from":"2.36-9","to":"2.36-10"},{"name":"tilde-package","architecture":"amd64","from":"1.0~rc1-1","to":"1.0-1"}]""",
            body["packages"]!["upgraded"]!.ToJsonString());
        Assert.Empty(body["notes"]!.AsArray());
    }

    [Fact]
    public async Task ARootFileSystemTheStoreDoesNotKeepLocallyIsFetchedAndRemovedAfterwards()
    {
        var (fromPath, toPath) = await DifferingImages.BuildAsync(workspace, withPackages: false);
        var from = await RegisterAsync("before", fromPath);
        var to = await RegisterAsync("after", toPath);
        var remote = new RemoteLikeStore(server.Artifacts);
        var temporary = Path.Combine(workspace, "temporary");
        var service = new ImageDiffService(server.Services.GetRequiredService<ImageService>(), remote, ProcessRunner.Instance, temporary);

        var difference = await service.CompareAsync(from, to, CancellationToken.None);

        // Two manifests and two root file systems.
        Assert.Equal(4, remote.Reads);
        Assert.Equal(["/added-directory", "/added-directory/file", "/kind/child"], difference.Files.Added.Select(entry => entry.Path));
        Assert.Null(difference.Packages);
        Assert.Single(difference.Notes);
        Assert.Empty(Directory.GetFileSystemEntries(temporary));
    }

    [Fact]
    public async Task AnUnknownImageIsNotFound()
    {
        var (fromPath, _) = await DifferingImages.BuildAsync(workspace);
        var from = await RegisterAsync("before", fromPath);

        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{from}/diff/00000000-0000-4000-8000-000000000000");

        Assert.Equal(404, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal("Requested resource does not exist. Re-run request with valid ID.", (string?)problem!["detail"]);
    }

    [Fact]
    public async Task AnImageWithoutARootFileSystemCannotBeCompared()
    {
        var unlinked = (string)(await server.CreateImageAsync("empty"))["id"]!;
        var text = Path.Combine(workspace, "not-squashfs");
        await File.WriteAllTextAsync(text, "this is not a squashfs image, only some text that is long enough to hold a superblock's worth of bytes, and then some more of it");
        var notSquashfs = await RegisterAsync("text", text);

        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{unlinked}/diff/{notSquashfs}");
        Assert.Equal(422, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal($"Image {unlinked} (empty) has no artifact link: it has no root file system to compare.", (string?)problem!["detail"]);

        (status, problem, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{notSquashfs}/diff/{notSquashfs}");
        Assert.Equal(422, status);
        Assert.StartsWith($"The root file system s3://boot-images/{notSquashfs}/rootfs of image {notSquashfs} is not a squashfs image this server reads: ", (string?)problem!["detail"]);
    }
}
