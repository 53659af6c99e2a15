using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>The documented CFS commands, typed as an admin would, against a real server process.</summary>
public sealed class CfsWorkflowTests(CrayEnvironment cray) : IClassFixture<CrayEnvironment>
{
    private const string Image = "5d64c8b2-4f0e-4b2e-b334-51daba16b7fb";

    private async Task StoreConfigurationAsync(string name)
    {
        var repository = Path.Combine(cray.Root, "ansible-" + name);
        Directory.CreateDirectory(repository);
        await File.WriteAllTextAsync(Path.Combine(repository, "site.yml"), "- hosts: all\n  tasks: []\n");
        foreach (var arguments in new[] { new[] { "init", "-q", "-b", "main" }, ["add", "site.yml"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init"] })
        {
            await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("git", ["-C", repository, .. arguments]));
        }
        var file = Path.Combine(cray.Root, name + ".json");
        await File.WriteAllTextAsync(file, $$$"""{"layers":[{"name":"example","clone_url":"{{{repository}}}","branch":"main","playbook":"site.yml"}]}""");
        var update = await cray.CrayAsync("cfs", "v3", "configurations", "update", name, "--file", file, "--format", "json");
        Assert.True(update.ExitCode == 0, update.Error);
        Assert.Equal(40, ((string?)JsonNode.Parse(update.Output)!["layers"]![0]!["commit"])!.Length);
    }

    [Fact]
    public async Task TheSeedsCreateCommandPrintsTheSeedsObject()
    {
        await StoreConfigurationAsync("configurations-example");
        var result = await cray.CrayAsync("cfs", "sessions", "create", "--name", "example", "--configuration-name", "configurations-example",
            "--target-definition", "image", "--target-group", "Compute", Image, "--format", "json");
        Assert.True(result.ExitCode == 0, result.Error);
        var session = JsonNode.Parse(result.Output)!;
        Assert.Equal(["ansible", "configuration", "name", "status", "tags", "target"], session.AsObject().Select(pair => pair.Key));
        Assert.Equal("""{"config":"cfs-default-ansible-cfg","limit":null,"passthrough":null,"verbosity":0}""", session["ansible"]!.ToJsonString());
        Assert.Equal("""{"limit":"","name":"configurations-example"}""", session["configuration"]!.ToJsonString());
        Assert.Equal("example", (string?)session["name"]);
        Assert.Equal("[]", session["status"]!["artifacts"]!.ToJsonString());
        Assert.Equal("pending", (string?)session["status"]!["session"]!["status"]);
        Assert.Equal("none", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Equal("{}", session["tags"]!.ToJsonString());
        Assert.Equal($$"""{"definition":"image","groups":[{"members":["{{Image}}"],"name":"Compute"}],"image_map":[]}""", session["target"]!.ToJsonString());

        var describe = await cray.CrayAsync("cfs", "sessions", "describe", "example", "--format", "json");
        Assert.Equal("[]", JsonNode.Parse(describe.Output)!["status"]!["artifacts"]!.ToJsonString());
        var duplicate = await cray.CrayAsync("cfs", "sessions", "create", "--name", "example", "--configuration-name", "configurations-example");
        Assert.Equal(2, duplicate.ExitCode);
        Assert.Equal("Usage: cray cfs sessions create [OPTIONS]\nTry 'cray cfs sessions create -h' for help.\n\n"
            + "Error: Conflicting session name: A session with the name example already exists\n", duplicate.Error);
    }

    [Fact]
    public async Task V3CreateWithEveryOptionSendsTheReferenceBody()
    {
        await StoreConfigurationAsync("everything");
        var result = await cray.CrayAsync("cfs", "v3", "sessions", "create", "--name", "everything", "--configuration-name", "everything",
            "--configuration-limit", "example", "--ansible-limit", "Compute", "--ansible-verbosity", "2", "--ansible-passthrough", "-e x=1",
            "--debug-on-failure", "true", "--target-definition", "image", "--target-group", "Compute", $"{Image}, 6d64c8b2-4f0e-4b2e-b334-51daba16b7fb",
            "--target-group", "Application", Image, "--target-image-map", Image, "my-result", "--tags", "bos_session=abc, team=hpc", "--format", "json");
        Assert.True(result.ExitCode == 0, result.Error);
        var session = JsonNode.Parse(result.Output)!;
        Assert.Equal("example", (string?)session["configuration"]!["limit"]);
        Assert.Equal("Compute", (string?)session["ansible"]!["limit"]);
        Assert.Equal(2, (int?)session["ansible"]!["verbosity"]);
        Assert.Equal("-e x=1", (string?)session["ansible"]!["passthrough"]);
        Assert.True((bool)session["debug_on_failure"]!);
        Assert.Equal(2, session["target"]!["groups"]![0]!["members"]!.AsArray().Count);
        Assert.Equal("Application", (string?)session["target"]!["groups"]![1]!["name"]);
        Assert.Equal("my-result", (string?)session["target"]!["image_map"]![0]!["result_name"]);
        Assert.Equal("""{"bos_session":"abc","team":"hpc"}""", session["tags"]!.ToJsonString());

        var list = await cray.CrayAsync("cfs", "v3", "sessions", "list", "--tags", "bos_session=abc", "--format", "json");
        Assert.Equal(["everything"], JsonNode.Parse(list.Output)!["sessions"]!.AsArray().Select(item => (string)item!["name"]!));
        Assert.Equal(0, (await cray.CrayAsync("cfs", "v3", "sessions", "delete", "everything")).ExitCode);
    }

    [Fact]
    public async Task OptionsUpdateAndTomlOutput()
    {
        var update = await cray.CrayAsync("cfs", "options", "update", "--session-ttl", "24h", "--format", "toml");
        Assert.True(update.ExitCode == 0, update.Error);
        Assert.Contains("sessionTTL = \"24h\"\n", update.Output);
        var v3 = await cray.CrayAsync("cfs", "v3", "options", "update", "--batcher-disable", "false", "--default-page-size", "500", "--format", "json");
        Assert.Equal(500, (int?)JsonNode.Parse(v3.Output)!["default_page_size"]);
        var wrong = await cray.CrayAsync("cfs", "v3", "configurations", "update", "nothing");
        Assert.Equal(2, wrong.ExitCode);
        Assert.EndsWith("Error: Either --file or --update-branches must be set for updates\n", wrong.Error);
    }
}
