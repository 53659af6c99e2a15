using System.Text.Json.Nodes;

namespace Cray.EndToEnd.Tests;

/// <summary><c>cray artifacts check</c> against a real server: what no record owns is listed, then removed only when asked.</summary>
public sealed class ArtifactCheckTests(CrayEnvironment cray) : IClassFixture<CrayEnvironment>
{
    private string MakeFile(string content)
    {
        var path = Path.Combine(cray.Root, "file-" + Guid.NewGuid().ToString("n"));
        File.WriteAllText(path, content);
        return path;
    }

    private async Task<string> ImportAsync(string name)
    {
        var root = Path.Combine(cray.Root, "rootfs-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.WriteAllText(Path.Combine(root, "etc", "motd"), name);
        var result = await cray.CrayAsync("ims", "images", "import", "--name", name, "--rootfs", root, "--kernel", MakeFile("kernel"), "--format", "json");
        Assert.True(result.ExitCode == 0, result.Error);
        return (string)JsonNode.Parse(result.Output)!["id"]!;
    }

    private async Task<JsonNode> JsonAsync(params string[] command)
    {
        var result = await cray.CrayAsync([.. command, "--format", "json"]);
        Assert.True(result.ExitCode == 0, result.Error);
        return JsonNode.Parse(result.Output)!;
    }

    private async Task<List<string>> KeysAsync(string bucket)
        => [.. (await JsonAsync("artifacts", "list", bucket))["artifacts"]!.AsArray().Select(item => (string)item!["Key"]!)];

    private async Task CreateObjectAsync(string bucket, string key)
        => Assert.Equal(0, (await cray.CrayAsync("artifacts", "create", bucket, key, MakeFile(key))).ExitCode);

    [Fact]
    public async Task ObjectsNoRecordOwnsAreListedThenRemovedOnlyWhenAsked()
    {
        var kept = await ImportAsync("kept");
        var softlyDeleted = await ImportAsync("softly-deleted");
        Assert.Equal(0, (await cray.CrayAsync("ims", "images", "delete", softlyDeleted)).ExitCode);
        var broken = await ImportAsync("broken");
        Assert.Equal(0, (await cray.CrayAsync("artifacts", "delete", "boot-images", $"{broken}/kernel")).ExitCode);
        // A record with no link yet is work in progress: what is under its id stays.
        var pending = (string)(await JsonAsync("ims", "images", "create", "--name", "pending"))["id"]!;
        await CreateObjectAsync("boot-images", $"{pending}/rootfs");

        var strayImage = $"{Guid.NewGuid()}/rootfs";
        var strayRecipe = $"recipes/{Guid.NewGuid()}/recipe.tar.gz";
        await CreateObjectAsync("boot-images", strayImage);
        await CreateObjectAsync("ims", strayRecipe);
        await CreateObjectAsync("boot-images", "site/notes.txt");

        // By default young objects are left alone: they may belong to an import still uploading.
        var cautious = await JsonAsync("artifacts", "check");
        Assert.Empty(cautious["unowned"]!.AsArray());
        Assert.Equal(2, (int)cautious["unowned_younger_than_min_age"]!);

        var report = await JsonAsync("artifacts", "check", "--min-age", "0s");
        Assert.Equal(
            [$"boot-images/{strayImage}", $"ims/{strayRecipe}"],
            report["unowned"]!.AsArray().Select(item => $"{item!["bucket"]}/{item["key"]}").Order(StringComparer.Ordinal));
        Assert.False((bool)report["removed"]!);
        Assert.Equal(1, (int)report["outside_ims_layout"]!);
        var missing = Assert.Single(report["records_missing_objects"]!.AsArray())!;
        Assert.Equal(broken, (string?)missing["id"]);
        Assert.Equal([$"s3://boot-images/{broken}/kernel"], missing["missing"]!.AsArray().Select(path => (string?)path));
        Assert.Contains(strayImage, await KeysAsync("boot-images"));

        var removal = await cray.CrayAsync("artifacts", "check", "--min-age", "0s", "--remove", "--format", "json");
        Assert.True(removal.ExitCode == 0, removal.Error);
        Assert.Contains($"Removed s3://boot-images/{strayImage}", removal.Error);
        Assert.True((bool)JsonNode.Parse(removal.Output)!["removed"]!);
        var left = await KeysAsync("boot-images");
        Assert.DoesNotContain(strayImage, left);
        Assert.DoesNotContain(strayRecipe, await KeysAsync("ims"));
        Assert.Contains("site/notes.txt", left);
        Assert.Contains($"{pending}/rootfs", left);
        Assert.Contains($"{kept}/rootfs", left);
        Assert.Contains($"{kept}/manifest.json", left);
        Assert.Contains($"deleted/{softlyDeleted}/rootfs", left);
        Assert.Contains($"{broken}/rootfs", left);

        // Nothing is left to remove.
        Assert.Empty((await JsonAsync("artifacts", "check", "--min-age", "0s"))["unowned"]!.AsArray());
    }
}
