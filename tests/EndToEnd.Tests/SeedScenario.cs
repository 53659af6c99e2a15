using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>The seed, command for command, and the session helpers its tests share; run on each store a test gives it.</summary>
public static class SeedScenario
{
    public static async Task StoreConfigurationAsync(CrayEnvironment cray, string name, string playbookFile)
    {
        var repository = Path.Combine(cray.Root, "layer-" + name);
        Directory.CreateDirectory(repository);
        File.Copy(Path.Combine(CrayEnvironment.RepositoryRoot, "examples", "ansible-example", "site.yml"), Path.Combine(repository, "site.yml"));
        await File.WriteAllTextAsync(Path.Combine(repository, "fail.yml"), "- hosts: Compute\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: /bin/false\n");
        await GitRepositories.CommitAllAsync(repository);
        var file = Path.Combine(cray.Root, name + ".json");
        await File.WriteAllTextAsync(file, $$$"""{"layers":[{"name":"example","clone_url":"{{{repository}}}","branch":"main","playbook":"{{{playbookFile}}}"}]}""");
        var update = await cray.CrayAsync("cfs", "v3", "configurations", "update", name, "--file", file);
        Assert.True(update.ExitCode == 0, update.Error);
    }

    public static async Task<JsonNode> DescribeAsync(CrayEnvironment cray, string name)
        => JsonNode.Parse((await cray.CrayAsync("cfs", "sessions", "describe", name, "--format", "json")).Output)!;

    public static async Task<JsonNode> WaitForCompletionAsync(CrayEnvironment cray, string name)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            var session = await DescribeAsync(cray, name);
            if ((string?)session["status"]!["session"]!["status"] == "complete" || DateTime.UtcNow > deadline)
            {
                return session;
            }
            await Task.Delay(500);
        }
    }

    public static async Task<JsonArray> ListAsync(CrayEnvironment cray, params string[] command)
        => JsonNode.Parse((await cray.CrayAsync([.. command, "--format", "json"])).Output)!.AsArray();

    public static async Task AssertNoJobWaitsAsync(CrayEnvironment cray)
        => Assert.All(await ListAsync(cray, "ims", "jobs", "list"), job => Assert.Contains((string?)job!["status"], new[] { "success", "error" }));

    /// <summary>The seed document's commands against the environment's server, with every promise it makes checked; returns the new image's id.</summary>
    public static async Task<string> RunAsync(JobEnvironment environment)
    {
        var cray = environment.Cray;
        await StoreConfigurationAsync(cray, "configurations-example", "site.yml");
        var imageId = environment.BaseImageId;
        var check = await cray.CrayAsync("ims", "images", "list", "--format", "json");
        Assert.Contains(JsonNode.Parse(check.Output)!.AsArray(), image => (string?)image!["id"] == imageId);

        var created = await cray.CrayAsync("cfs", "sessions", "create", "--name", "example", "--configuration-name", "configurations-example",
            "--target-definition", "image", "--target-group", "Compute", imageId);
        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Contains("status = \"pending\"", created.Output);

        var session = await WaitForCompletionAsync(cray, "example");
        Assert.True((string?)session["status"]!["session"]!["succeeded"] == "true", (await cray.CrayAsync("cfs", "sessions", "logs", "example")).Output);
        var artifact = Assert.Single(session["status"]!["artifacts"]!.AsArray())!;
        Assert.Equal(imageId, (string?)artifact["image_id"]);
        Assert.Equal("ims_customized_image", (string?)artifact["type"]);
        var resultId = (string)artifact["result_id"]!;

        var result = JsonNode.Parse((await cray.CrayAsync("ims", "images", "describe", resultId, "--format", "json")).Output)!;
        Assert.Equal("base_cfs_example", (string?)result["name"]);
        var rootfs = Path.Combine(cray.Root, "seed-result.squashfs");
        Assert.Equal(0, (await cray.CrayAsync("artifacts", "get", "boot-images", $"{resultId}/rootfs", rootfs)).ExitCode);
        var marker = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, "etc/cray-cfs-example"]));
        Assert.Equal("customized by a CFS image session", marker.Output.Trim());
        Assert.Equal(environment.BaseRootfsMd5, await environment.RootfsMd5Async(imageId));
        await AssertNoJobWaitsAsync(cray);
        Assert.Empty(await ListAsync(cray, "ims", "public-keys", "list").ContinueWith(task => task.Result.Where(key => ((string?)key!["name"])!.StartsWith("cfs_", StringComparison.Ordinal)).ToList()));

        var log = (await cray.CrayAsync("cfs", "sessions", "logs", "example")).Output;
        foreach (var phase in new[] { "waiting for images", "staging images", "layer 0 (example)", "packaging images" })
        {
            Assert.Contains($"Phase {phase} finished in", log);
        }
        Assert.Contains("changed=5", log);
        return resultId;
    }
}
