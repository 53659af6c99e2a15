using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Cray.EndToEnd.Tests;

/// <summary>The documented admin workflows, typed as an admin would, against a real server process.</summary>
public sealed class ImageWorkflowTests : IClassFixture<CrayEnvironment>
{
    private readonly CrayEnvironment cray;

    public ImageWorkflowTests(CrayEnvironment cray) => this.cray = cray;

    private string MakeRootDirectory(string marker)
    {
        var root = Path.Combine(cray.Root, "rootfs-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "boot"));
        File.WriteAllText(Path.Combine(root, "etc", "motd"), marker);
        return root;
    }

    private string MakeFile(string name, string content)
    {
        var path = Path.Combine(cray.Root, name + "-" + Guid.NewGuid().ToString("n"));
        File.WriteAllText(path, content);
        return path;
    }

    private async Task<JsonObject> ImportAsync(string name)
    {
        var result = await cray.CrayAsync("ims", "images", "import", "--name", name, "--rootfs", MakeRootDirectory(name),
            "--kernel", MakeFile("kernel", "kernel"), "--initrd", MakeFile("initrd", "initrd"), "--format", "json");
        Assert.True(result.ExitCode == 0, result.Error);
        return JsonNode.Parse(result.Output)!.AsObject();
    }

    private async Task<JsonArray> ListAsync(params string[] command)
    {
        var result = await cray.CrayAsync([.. command, "--format", "json"]);
        Assert.True(result.ExitCode == 0, result.Error);
        return JsonNode.Parse(result.Output)!.AsArray();
    }

    [Fact]
    public async Task ImportedImageIsListedAsTheSeedChecksAndItsRootFileSystemRoundTrips()
    {
        var image = await ImportAsync("seed-check");
        var id = (string)image["id"]!;
        Assert.Equal("seed-check", (string?)image["name"]);
        Assert.Equal($"s3://boot-images/{id}/manifest.json", (string?)image["link"]!["path"]);

        // The seed's check: any(.[]; .id == "<id>")
        Assert.Contains(await ListAsync("ims", "images", "list"), item => (string?)item!["id"] == id);

        var download = Path.Combine(cray.Root, "downloaded.squashfs");
        var get = await cray.CrayAsync("artifacts", "get", "boot-images", $"{id}/rootfs", download);
        Assert.Equal(0, get.ExitCode);
        var content = await Cray.Processes.ProcessRunner.Instance.RunAsync(
            new Cray.Processes.ProcessRequest("unsquashfs", ["-cat", download, "etc/motd"]));
        Assert.Equal("seed-check", content.Output.Trim());

        var manifestPath = Path.Combine(cray.Root, "manifest.json");
        await cray.CrayAsync("artifacts", "get", "boot-images", $"{id}/manifest.json", manifestPath);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        Assert.Equal("1.0", (string?)manifest["version"]);
        Assert.Equal(
            ["application/vnd.cray.image.rootfs.squashfs", "application/vnd.cray.image.kernel", "application/vnd.cray.image.initrd"],
            manifest["artifacts"]!.AsArray().Select(entry => (string?)entry!["type"]));
    }

    [Fact]
    public async Task DescribeMatchesTheReferenceShapesInJsonYamlAndToml()
    {
        var id = (string)(await ImportAsync("shapes"))["id"]!;

        var json = await cray.CrayAsync("ims", "images", "describe", id, "--format", "json");
        Assert.Equal(["arch", "created", "id", "link", "metadata", "name"], JsonNode.Parse(json.Output)!.AsObject().Select(p => p.Key));
        Assert.StartsWith("{\n  \"arch\": \"x86_64\",\n", json.Output);

        var yaml = await cray.CrayAsync("ims", "images", "describe", id, "--format", "yaml");
        Assert.Contains("\ncreated: '", yaml.Output);
        Assert.Contains($"\nlink:\n  etag: ", yaml.Output);
        Assert.Contains("\nmetadata: {}\n", yaml.Output);

        var toml = await cray.CrayAsync("ims", "images", "describe", id);
        Assert.StartsWith("arch = \"x86_64\"\ncreated = \"", toml.Output);
        Assert.Contains($"\n\n[link]\netag = \"", toml.Output);
        Assert.EndsWith("\n\n[metadata]\n", toml.Output);
    }

    [Fact]
    public async Task DeleteListDeletedAndUndeleteRestoresTheImage()
    {
        var image = await ImportAsync("recoverable");
        var id = (string)image["id"]!;
        var update = await cray.CrayAsync("ims", "images", "update", id, "--metadata-operation", "set", "--metadata-key", "owner", "--metadata-value", "hpc");
        Assert.Equal(0, update.ExitCode);

        Assert.Equal(0, (await cray.CrayAsync("ims", "images", "delete", id)).ExitCode);
        Assert.DoesNotContain(await ListAsync("ims", "images", "list"), item => (string?)item!["id"] == id);
        var deleted = Assert.Single(await ListAsync("ims", "deleted", "images", "list"), item => (string?)item!["id"] == id);
        Assert.NotNull(deleted!["deleted"]);
        var objects = await cray.CrayAsync("artifacts", "list", "boot-images", "--format", "json");
        Assert.Contains($"deleted/{id}/rootfs", objects.Output);

        Assert.Equal(0, (await cray.CrayAsync("ims", "deleted", "images", "update", id, "--operation", "undelete")).ExitCode);
        var restored = JsonNode.Parse((await cray.CrayAsync("ims", "images", "describe", id, "--format", "json")).Output)!;
        Assert.Equal((string?)image["created"], (string?)restored["created"]);
        Assert.Equal((string?)image["arch"], (string?)restored["arch"]);
        Assert.Equal("hpc", (string?)restored["metadata"]!["owner"]);
        Assert.Equal((string?)image["link"]!["path"], (string?)restored["link"]!["path"]);
        var describeRootfs = await cray.CrayAsync("artifacts", "describe", "boot-images", $"{id}/rootfs", "--format", "json");
        Assert.Equal(0, describeRootfs.ExitCode);
    }

    [Fact]
    public async Task FailedImportLeavesNoImageRecordAndNoObjects()
    {
        // A socket file passes the "file exists" check but cannot be opened: the failure comes
        // after the image record and the root file system upload, so both must be undone.
        var socketPath = Path.Combine(cray.Root, "kernel.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        var before = await ListAsync("ims", "images", "list");
        var result = await cray.CrayAsync("ims", "images", "import", "--name", "broken-import", "--rootfs", MakeRootDirectory("broken"), "--kernel", socketPath);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Error:", result.Error);

        var after = await ListAsync("ims", "images", "list");
        Assert.Equal(before.Count, after.Count);
        Assert.DoesNotContain(after, item => (string?)item!["name"] == "broken-import");
        Assert.DoesNotContain(await ListAsync("ims", "deleted", "images", "list"), item => (string?)item!["name"] == "broken-import");
        var objects = JsonNode.Parse((await cray.CrayAsync("artifacts", "list", "boot-images", "--format", "json")).Output)!["artifacts"]!.AsArray();
        var imageIds = after.Select(item => (string)item!["id"]!).ToHashSet();
        Assert.All(objects, entry =>
        {
            var key = (string)entry!["Key"]!;
            var owner = key.StartsWith("deleted/", StringComparison.Ordinal) ? key.Split('/')[1] : key.Split('/')[0];
            Assert.True(imageIds.Contains(owner) || key.StartsWith("deleted/", StringComparison.Ordinal), $"orphaned object {key}");
        });
    }

    [Fact]
    public async Task AnImportKilledMidUploadIsRemovedByTheNextImport()
    {
        // A root file system big enough that the upload is still running when the import is killed.
        var rootfs = Path.Combine(cray.Root, "big-rootfs.squashfs");
        await using (var file = File.Create(rootfs))
        {
            file.SetLength(1L << 30);
        }
        var notes = Path.Combine(cray.ConfigDirectory, "unfinished-imports");
        using var killed = cray.StartCray("ims", "images", "import", "--name", "killed-import", "--rootfs", rootfs);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(Directory.Exists(notes) && Directory.EnumerateFiles(notes, "*.json").Any()) && !killed.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }
        killed.Kill(entireProcessTree: true);
        await killed.WaitForExitAsync();
        File.Delete(rootfs);
        var left = Assert.Single(await ListAsync("ims", "images", "list"), item => (string?)item!["name"] == "killed-import")!;
        Assert.Null(left["link"]);
        var leftId = (string)left["id"]!;

        var next = await cray.CrayAsync("ims", "images", "import", "--name", "after-the-kill", "--rootfs", MakeRootDirectory("after-the-kill"));
        Assert.True(next.ExitCode == 0, next.Error);
        Assert.Contains($"Removed image {leftId}", next.Error);
        Assert.DoesNotContain(await ListAsync("ims", "images", "list"), item => (string?)item!["name"] == "killed-import");
        var objects = JsonNode.Parse((await cray.CrayAsync("artifacts", "list", "boot-images", "--format", "json")).Output)!["artifacts"]!.AsArray();
        Assert.DoesNotContain(objects, item => ((string?)item!["Key"] ?? "").StartsWith(leftId, StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFiles(notes));
    }

    [Fact]
    public async Task ServerErrorsPrintTitleAndDetailAndExitTwo()
    {
        var result = await cray.CrayAsync("ims", "images", "describe", "00000000-0000-4000-8000-000000000000");
        Assert.Equal(2, result.ExitCode);
        // As the reference prints it: its HTTP error is a click usage error, so the usage block comes first.
        Assert.Equal("Usage: cray ims images describe [OPTIONS] IMAGE_ID\nTry 'cray ims images describe -h' for help.\n\n"
            + "Error: Not Found: Requested resource does not exist. Re-run request with valid ID.\n", result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task PublicKeysCreateFromAFileAndDeleteSoftly()
    {
        var keyFile = MakeFile("id.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX admin@host\n");
        var created = await cray.CrayAsync("ims", "public-keys", "create", "--name", "admin key", "--public-key", keyFile, "--format", "json");
        Assert.Equal(0, created.ExitCode);
        var key = JsonNode.Parse(created.Output)!;
        Assert.Equal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX admin@host\n", (string?)key["public_key"]);
        Assert.Equal(0, (await cray.CrayAsync("ims", "public-keys", "delete", (string)key["id"]!)).ExitCode);
        Assert.Contains(await ListAsync("ims", "deleted", "public-keys", "list"), item => (string?)item!["id"] == (string?)key["id"]);
    }

    [Fact]
    public async Task ArtifactsCommandsRoundTripAFile()
    {
        var file = MakeFile("payload", "payload bytes");
        var created = await cray.CrayAsync("artifacts", "create", "boot-images", "manual/payload", file, "--format", "json");
        Assert.Equal(0, created.ExitCode);
        Assert.Equal("manual/payload", (string?)JsonNode.Parse(created.Output)!["Key"]);

        var described = JsonNode.Parse((await cray.CrayAsync("artifacts", "describe", "boot-images", "manual/payload", "--format", "json")).Output)!["artifact"]!;
        Assert.Equal(13, (int?)described["ContentLength"]);
        Assert.Equal("\"ef4b64bdce2c9f0b3ff0e1a4dd5bf53c\"".Length, ((string?)described["ETag"])!.Length);

        var buckets = await cray.CrayAsync("artifacts", "buckets", "list", "--format", "json");
        Assert.Contains("\"boot-images\"", buckets.Output);

        var target = Path.Combine(cray.Root, "payload.out");
        Assert.Equal(0, (await cray.CrayAsync("artifacts", "get", "boot-images", "manual/payload", target)).ExitCode);
        Assert.Equal("payload bytes", File.ReadAllText(target));
        Assert.Equal(0, (await cray.CrayAsync("artifacts", "delete", "boot-images", "manual/payload")).ExitCode);
        Assert.Equal(2, (await cray.CrayAsync("artifacts", "describe", "boot-images", "manual/payload")).ExitCode);
    }

    [Fact]
    public async Task WithoutAConfigurationEveryCommandSaysToRunInit()
    {
        var empty = Path.Combine(cray.Root, "no-config-" + Guid.NewGuid().ToString("n"));
        var result = await CrayEnvironment.CrayWithConfigAsync(empty, "ims", "images", "list");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("Error: No configuration exists. Run `cray init`\n", result.Error);
    }

    [Fact]
    public async Task ConfigGetSetAndList()
    {
        var hostname = await cray.CrayAsync("config", "get", "core.hostname");
        Assert.Equal($"http://127.0.0.1:{cray.Port}\n", hostname.Output);
        var list = await cray.CrayAsync("config", "list", "--format", "json");
        Assert.Contains("\"is_active\": true", list.Output);
        var missing = await cray.CrayAsync("config", "get", "core.nothing");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("Unable to find property.", missing.Error);
    }
}
