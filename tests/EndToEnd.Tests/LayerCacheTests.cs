using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// Layer checkpoints on the real server: a three-layer configuration run again reuses all three
/// layers and makes the same image; a new commit in layer 3 reruns only layer 3; a session that
/// failed at layer 2 resumes there after the fix; --no-cache reuses nothing; what made each image
/// is in it and in its IMS metadata (`cray ims images history`); the cache can be listed and pruned.
/// </summary>
public sealed class LayerCacheTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    private const string LayerOne = """
        - hosts: Compute
          gather_facts: false
          tasks:
            - ansible.builtin.copy: { dest: /etc/layer-one, content: "one\n", mode: "0644" }
            - ansible.builtin.file: { path: /etc/motd, state: absent }
        """;

    private const string LayerTwo = """
        - hosts: Compute
          gather_facts: false
          tasks:
            - ansible.builtin.file: { path: /opt/layer-two, state: directory, mode: "0750" }
            - ansible.builtin.copy: { dest: /opt/layer-two/data, content: "two\n", mode: "0600" }
            - ansible.builtin.copy: { dest: /opt/layer-two/kept, content: "kept\n", mode: "0644" }
            - ansible.builtin.copy: { dest: /etc/layer-one, content: "one, changed by two\n", mode: "0644" }
        """;

    private static string LayerThree(string version) => """
        - hosts: Compute
          gather_facts: false
          tasks:
            - ansible.builtin.copy: { dest: /etc/layer-three, content: "three VERSION\n", mode: "0644" }
            - ansible.builtin.file: { path: /opt/layer-two/data, state: absent }
        """.Replace("VERSION", version, StringComparison.Ordinal);

    private const string Failing = "- hosts: Compute\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: /bin/false\n";

    private const string Passing = "- hosts: Compute\n  gather_facts: false\n  tasks:\n    - ansible.builtin.copy: { dest: /etc/resumed, content: \"fixed\\n\" }\n";

    private static async Task<string> CommitAsync(string repository, IReadOnlyDictionary<string, string> files)
    {
        Directory.CreateDirectory(repository);
        foreach (var (name, content) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(repository, name), content);
        }
        if (!Directory.Exists(Path.Combine(repository, ".git")))
        {
            await GitRepositories.CommitAllAsync(repository);
        }
        else
        {
            await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("git", ["-C", repository, "add", "."]));
            await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("git", ["-C", repository, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "next"]));
        }
        return (await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("git", ["-C", repository, "rev-parse", "HEAD"]))).Output.Trim();
    }

    private async Task ConfigureAsync(string name, string repository, params (string Name, string Commit, string Playbook)[] layers)
    {
        var file = Path.Combine(Cray.Root, name + ".json");
        var body = new JsonObject
        {
            ["layers"] = new JsonArray(layers.Select(layer => (JsonNode?)new JsonObject
            {
                ["name"] = layer.Name,
                ["clone_url"] = repository,
                ["commit"] = layer.Commit,
                ["playbook"] = layer.Playbook,
            }).ToArray()),
        };
        await File.WriteAllTextAsync(file, body.ToJsonString());
        var update = await Cray.CrayAsync("cfs", "v3", "configurations", "update", name, "--file", file);
        Assert.True(update.ExitCode == 0, update.Error);
    }

    private async Task<(JsonNode Session, string Log)> RunSessionAsync(string name, string configuration, bool succeeds = true, params string[] extra)
    {
        var result = await Cray.CrayAsync(["cfs", "v3", "sessions", "create", "--name", name, "--configuration-name", configuration,
            "--target-definition", "image", "--target-group", "Compute", environment.BaseImageId, "--wait", "--format", "json", .. extra]);
        var log = (await Cray.CrayAsync("cfs", "sessions", "logs", name)).Output;
        Assert.True(result.ExitCode == (succeeds ? 0 : 1), log);
        return (JsonNode.Parse(result.Output)!, log);
    }

    private async Task<string> ResultRootfsAsync(JsonNode session, string name)
    {
        var resultId = (string)Assert.Single(session["status"]!["artifacts"]!.AsArray())!["result_id"]!;
        var rootfs = Path.Combine(Cray.Root, name + ".squashfs");
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{resultId}/rootfs", rootfs)).ExitCode);
        return rootfs;
    }

    private static async Task<string?> ReadAsync(string rootfs, string path)
    {
        var result = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, path]));
        return result.Succeeded ? result.Output : null;
    }

    private static int Count(string text, string part) => text.Split(part).Length - 1;

    private async Task<JsonObject> CacheAsync() => JsonNode.Parse((await Cray.CrayAsync("cfs", "cache", "list", "--format", "json")).Output)!.AsObject();

    [Fact]
    public async Task LayersAreReusedResumedAndRecordedInTheImage()
    {
        var repository = Path.Combine(Cray.Root, "layered");
        var first = await CommitAsync(repository, new Dictionary<string, string>
        {
            ["layer1.yml"] = LayerOne,
            ["layer2.yml"] = LayerTwo,
            ["layer3.yml"] = LayerThree("v1"),
            ["resume1.yml"] = LayerOne,
            ["resume2.yml"] = Failing,
        });
        await ConfigureAsync("three-layers", repository, ("one", first, "layer1.yml"), ("two", first, "layer2.yml"), ("three", first, "layer3.yml"));

        // First run: every layer runs, and each is sealed into the cache.
        var (ran, ranLog) = await RunSessionAsync("layers-first", "three-layers");
        Assert.Equal(3, Count(ranLog, "Sealed layer "));
        Assert.DoesNotContain("reused from the layer cache", ranLog);
        Assert.Contains("Layer cache: 3 layer(s) added", ranLog);
        var firstRootfs = await ResultRootfsAsync(ran, "layers-first");
        Assert.Equal("one, changed by two\n", await ReadAsync(firstRootfs, "etc/layer-one"));
        Assert.Equal("three v1\n", await ReadAsync(firstRootfs, "etc/layer-three"));
        Assert.Null(await ReadAsync(firstRootfs, "etc/motd"));
        Assert.Null(await ReadAsync(firstRootfs, "opt/layer-two/data"));
        Assert.Equal("kept\n", await ReadAsync(firstRootfs, "opt/layer-two/kept"));
        var cache = await CacheAsync();
        Assert.Equal(3, cache["entries"]!.AsArray().Count);
        Assert.True((long)cache["total_bytes"]! > 0);

        // Second run, nothing changed: all three reused, the same image but for its provenance.
        var (reused, reusedLog) = await RunSessionAsync("layers-again", "three-layers");
        Assert.Equal(3, Count(reusedLog, "reused from the layer cache for every image"));
        Assert.DoesNotContain("Phase layer ", reusedLog);
        var reusedRootfs = await ResultRootfsAsync(reused, "layers-again");
        var difference = await ProcessRunner.Instance.RunAsync(new ProcessRequest("sqfsdiff", ["-a", firstRootfs, "-b", reusedRootfs]));
        Assert.All(difference.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Contains("image-provenance.json", line));

        // A new commit for layer 3 only: layers 1 and 2 are reused, 3 runs.
        var next = await CommitAsync(repository, new Dictionary<string, string> { ["layer3.yml"] = LayerThree("v2"), ["resume2.yml"] = Passing });
        await ConfigureAsync("three-layers", repository, ("one", first, "layer1.yml"), ("two", first, "layer2.yml"), ("three", next, "layer3.yml"));
        var (third, thirdLog) = await RunSessionAsync("layers-third", "three-layers");
        Assert.Equal(2, Count(thirdLog, "reused from the layer cache for every image"));
        Assert.Contains("Phase layer 2 (three) finished", thirdLog);
        var thirdRootfs = await ResultRootfsAsync(third, "layers-third");
        Assert.Equal("three v2\n", await ReadAsync(thirdRootfs, "etc/layer-three"));
        Assert.Equal("one, changed by two\n", await ReadAsync(thirdRootfs, "etc/layer-one"));

        // What made it: in the image, and in IMS (newest first, back to the base image).
        var provenance = JsonNode.Parse((await ReadAsync(thirdRootfs, "etc/cray/image-provenance.json"))!)!;
        Assert.Equal("layers-third", (string?)provenance["session"]);
        Assert.Equal(environment.BaseImageId, (string?)provenance["source_image"]!["id"]);
        Assert.Equal(environment.BaseRootfsMd5, (string?)provenance["source_image"]!["rootfs_md5"]);
        Assert.Equal([true, true, false], provenance["layers"]!.AsArray().Select(layer => (bool)layer!["reused"]!));
        Assert.Equal([first, first, next], provenance["layers"]!.AsArray().Select(layer => (string?)layer!["commit"]));
        var thirdId = (string)third["status"]!["artifacts"]![0]!["result_id"]!;
        var history = JsonNode.Parse((await Cray.CrayAsync("ims", "images", "history", thirdId, "--format", "json")).Output)!.AsArray();
        Assert.Equal([thirdId, environment.BaseImageId], history.Select(generation => (string?)generation!["id"]));
        Assert.Equal("layer3.yml", (string?)history[0]!["provenance"]!["layers"]![2]!["playbook"]);
        Assert.Null(history[1]!["provenance"]);

        // A cached layer whose object is gone (deleted behind the cache's back): the job restores the
        // layers below it, the session runs the rest, and the result is the same.
        var lost = (await CacheAsync())["entries"]!.AsArray().Single(entry => (int)entry!["layer"]!["index"]! == 1)!;
        var lostPath = ((string)lost["path"]!)["s3://cfs-layer-cache/".Length..];
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "delete", "cfs-layer-cache", lostPath)).ExitCode);
        var (afterLoss, afterLossLog) = await RunSessionAsync("layers-after-loss", "three-layers");
        Assert.Contains("restored 1 of 3 cached layer(s)", afterLossLog);
        Assert.Contains("Phase layer 1 (two) finished", afterLossLog);
        Assert.Contains("Phase layer 2 (three) finished", afterLossLog);
        Assert.Equal("three v2\n", await ReadAsync(await ResultRootfsAsync(afterLoss, "layers-after-loss"), "etc/layer-three"));

        // Two images, one with every layer cached and one with none: Ansible runs each layer on the
        // second only (the first is left out by the limit), and both results hold the same files.
        // The group's members are part of the keys (a play may read them), so both run once first;
        // deleting the second image's lowest layer takes its layers above along.
        var secondId = (string)JsonNode.Parse((await Cray.CrayAsync("ims", "images", "import", "--name", "second", "--rootfs",
            await JobEnvironment.BaseImagePathAsync(), "--format", "json")).Output)!["id"]!;
        var bothFirst = await Cray.CrayAsync("cfs", "v3", "sessions", "create", "--name", "layers-two-images-first", "--configuration-name", "three-layers",
            "--target-definition", "image", "--target-group", "Compute", $"{environment.BaseImageId},{secondId}", "--wait", "--format", "json");
        Assert.True(bothFirst.ExitCode == 0, (await Cray.CrayAsync("cfs", "sessions", "logs", "layers-two-images-first")).Output);
        var secondLowest = (await CacheAsync())["entries"]!.AsArray()
            .Single(entry => (string?)entry!["source_image_id"] == secondId && (int)entry["layer"]!["index"]! == 0)!;
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "cache", "delete", (string)secondLowest["key"]!)).ExitCode);
        Assert.DoesNotContain((await CacheAsync())["entries"]!.AsArray(), entry => (string?)entry!["source_image_id"] == secondId);
        var twoImages = await Cray.CrayAsync("cfs", "v3", "sessions", "create", "--name", "layers-two-images", "--configuration-name", "three-layers",
            "--target-definition", "image", "--target-group", "Compute", $"{environment.BaseImageId},{secondId}", "--wait", "--format", "json");
        var twoImagesLog = (await Cray.CrayAsync("cfs", "sessions", "logs", "layers-two-images")).Output;
        Assert.True(twoImages.ExitCode == 0, twoImagesLog);
        Assert.Equal(3, Count(twoImagesLog, $"reused from the layer cache for image {environment.BaseImageId}"));
        Assert.Contains("Phase layer 2 (three) finished", twoImagesLog);
        Assert.Contains($"{secondId} : ok=", twoImagesLog);
        Assert.DoesNotContain($"{environment.BaseImageId} : ok=", twoImagesLog);
        var results = JsonNode.Parse(twoImages.Output)!["status"]!["artifacts"]!.AsArray();
        Assert.Equal(2, results.Count);
        foreach (var result in results)
        {
            var rootfs = Path.Combine(Cray.Root, $"two-images-{result!["image_id"]}.squashfs");
            Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{result["result_id"]}/rootfs", rootfs)).ExitCode);
            Assert.Equal("three v2\n", await ReadAsync(rootfs, "etc/layer-three"));
            Assert.Equal("one, changed by two\n", await ReadAsync(rootfs, "etc/layer-one"));
        }

        // What changed between images: from the base, and between the first and the third result.
        var firstId = (string)ran["status"]!["artifacts"]![0]!["result_id"]!;
        var fromBase = JsonNode.Parse((await Cray.CrayAsync("ims", "images", "diff", environment.BaseImageId, thirdId, "--format", "json")).Output)!;
        var added = fromBase["files"]!["added"]!.AsArray().Select(file => (string?)file!["path"]).ToList();
        Assert.Contains("/etc/layer-one", added);
        Assert.Contains("/etc/layer-three", added);
        Assert.Contains("/opt/layer-two/kept", added);
        Assert.Contains("/etc/cray/image-provenance.json", added);
        Assert.DoesNotContain("/opt/layer-two/data", added);
        Assert.Contains("/etc/motd", fromBase["files"]!["removed"]!.AsArray().Select(file => (string?)file!["path"]));
        Assert.Empty(fromBase["packages"]!["added"]!.AsArray());
        var betweenResults = JsonNode.Parse((await Cray.CrayAsync("ims", "images", "diff", firstId, thirdId, "--format", "json")).Output)!;
        Assert.Empty(betweenResults["files"]!["added"]!.AsArray());
        Assert.Empty(betweenResults["files"]!["removed"]!.AsArray());
        var layerThree = Assert.Single(betweenResults["files"]!["changed"]!.AsArray(), file => (string?)file!["path"] == "/etc/layer-three")!;
        Assert.NotNull(layerThree["changes"]!["sha256"]);
        Assert.All(betweenResults["files"]!["changed"]!.AsArray(),
            file => Assert.Contains((string?)file!["path"], new[] { "/etc/layer-three", "/etc/cray/image-provenance.json", "/etc/cray" }));

        // --no-cache: every layer runs again.
        var (_, noCacheLog) = await RunSessionAsync("layers-no-cache", "three-layers", true, "--no-cache");
        Assert.DoesNotContain("reused from the layer cache", noCacheLog);
        Assert.Contains("reuses nothing from the layer cache (--no-cache)", noCacheLog);
        Assert.Contains("Phase layer 0 (one) finished", noCacheLog);

        // A session failing at layer 2 keeps layer 1; after the fix it starts at layer 2.
        await ConfigureAsync("resume", repository, ("one", first, "resume1.yml"), ("two", first, "resume2.yml"), ("three", first, "layer3.yml"));
        var (_, failedLog) = await RunSessionAsync("resume-failed", "resume", succeeds: false);
        Assert.Contains("Layer 1 (two) failed", failedLog);
        Assert.Contains("Layer cache: 1 layer(s) added", failedLog);
        await ConfigureAsync("resume", repository, ("one", first, "resume1.yml"), ("two", next, "resume2.yml"), ("three", first, "layer3.yml"));
        var (resumed, resumedLog) = await RunSessionAsync("resume-fixed", "resume");
        Assert.Contains($"Layer 0 (one) reused from the layer cache for every image", resumedLog);
        Assert.Contains("Phase layer 1 (two) finished", resumedLog);
        Assert.Equal("fixed\n", await ReadAsync(await ResultRootfsAsync(resumed, "resume-fixed"), "etc/resumed"));

        // A layer that opts out (special_parameters.layer_cache false) is neither reused nor stored,
        // and neither is any layer after it; the layers before it still are.
        var optOut = Path.Combine(Cray.Root, "opt-out.json");
        await File.WriteAllTextAsync(optOut, $$$"""
            {"layers":[
              {"name":"one","clone_url":"{{{repository}}}","commit":"{{{first}}}","playbook":"layer1.yml"},
              {"name":"two","clone_url":"{{{repository}}}","commit":"{{{first}}}","playbook":"layer2.yml","special_parameters":{"layer_cache":false}},
              {"name":"three","clone_url":"{{{repository}}}","commit":"{{{first}}}","playbook":"layer3.yml"}]}
            """);
        var stored = await Cray.CrayAsync("cfs", "v3", "configurations", "update", "opt-out", "--file", optOut, "--format", "json");
        Assert.True(stored.ExitCode == 0, stored.Error);
        Assert.False((bool)JsonNode.Parse(stored.Output)!["layers"]![1]!["special_parameters"]!["layer_cache"]!);
        foreach (var name in new[] { "opt-out-first", "opt-out-again" })
        {
            var (_, optOutLog) = await RunSessionAsync(name, "opt-out");
            Assert.Contains("Layer 0 (one) reused from the layer cache for every image", optOutLog);
            Assert.Contains("Phase layer 1 (two) finished", optOutLog);
            Assert.Contains("Phase layer 2 (three) finished", optOutLog);
            Assert.DoesNotContain("Sealed layer", optOutLog);
        }

        // The cache can be emptied: entries and their objects.
        var pruned = JsonNode.Parse((await Cray.CrayAsync("cfs", "cache", "prune", "--all", "--format", "json")).Output)!;
        Assert.True(pruned["deleted"]!.AsArray().Count >= 9);
        Assert.Empty((await CacheAsync())["entries"]!.AsArray());
        var objects = await Cray.CrayAsync("artifacts", "list", "cfs-layer-cache", "--format", "json");
        Assert.Empty(JsonNode.Parse(objects.Output)!["artifacts"]!.AsArray());
        await SeedScenario.AssertNoJobWaitsAsync(Cray);
    }
}
