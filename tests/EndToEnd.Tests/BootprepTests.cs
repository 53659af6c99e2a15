using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// <c>cray bootprep run</c> on the real server: configurations from two layer repositories, an
/// image built from a kiwi recipe then customized, customized again through image_ref, and an
/// existing image customized; variables from a file and the command line; a second run that
/// skips, a third that overwrites with one failing layer.
/// </summary>
public sealed class BootprepTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    /// <summary>raw tasks need no Python in the image: the kiwi image has only python3-minimal.</summary>
    private const string LayerA = """
        - hosts: all
          gather_facts: false
          tasks:
            - ansible.builtin.raw: echo "{{ group_names | join(',') }}" >> /etc/bootprep-layer-a
        """;

    private const string LayerB = """
        - hosts: all
          gather_facts: false
          tasks:
            - ansible.builtin.raw: echo b > /etc/bootprep-layer-b
        """;

    private const string Failing = """
        - hosts: all
          gather_facts: false
          tasks:
            - ansible.builtin.raw: /bin/false
        """;

    private async Task<string> RepositoryAsync(string name, params (string File, string Text)[] files)
    {
        var repository = Path.Combine(Cray.Root, "bootprep-" + name);
        Directory.CreateDirectory(repository);
        foreach (var (file, text) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(repository, file), text);
        }
        await GitRepositories.CommitAllAsync(repository);
        return repository;
    }

    private static string InputFile(string repositoryA, string repositoryB, string layerBPlaybook, string computeIfExists, string othersIfExists) => $$$"""
        schema_version: 1.0.9
        configurations:
        - name: bootprep-a
          layers:
          - name: layer-a
            playbook: site.yml
            git:
              url: {{{repositoryA}}}
              branch: "{{ site.branch }}"
          if_exists: overwrite
        - name: bootprep-b
          layers:
          - name: layer-b
            playbook: {{{layerBPlaybook}}}
            git:
              url: {{{repositoryB}}}
              branch: main
          if_exists: overwrite
        images:
        - name: "compute-{{ base.name }}"
          ref_name: compute
          base:
            ims:
              name: debian-test
              type: recipe
          configuration: bootprep-a
          configuration_group_names: [Compute, Application]
          if_exists: {{{computeIfExists}}}
        - name: "application-{{ release }}"
          base:
            image_ref: compute
          configuration: bootprep-b
          configuration_group_names: [Application]
          if_exists: {{{othersIfExists}}}
        - name: "base-{{ release }}"
          base:
            ims:
              name: base
              type: image
          configuration: bootprep-a
          configuration_group_names: [Compute]
          if_exists: {{{othersIfExists}}}
        session_templates:
        - name: compute-template
          image:
            image_ref: compute
          configuration: bootprep-a
          bos_parameters:
            boot_sets:
              compute:
                kernel_parameters: console=ttyS0
                node_roles_groups: [Compute]
        """;

    private async Task<JsonNode> JsonAsync(params string[] arguments)
    {
        var result = await Cray.CrayAsync([.. arguments, "--format", "json"]);
        Assert.True(result.ExitCode == 0, $"cray {string.Join(' ', arguments)}: {result.Error}");
        return JsonNode.Parse(result.Output)!;
    }

    private async Task<string> FileInImageAsync(string imageId, string path)
    {
        var rootfs = Path.Combine(Cray.Root, $"bootprep-{imageId}.squashfs");
        if (!File.Exists(rootfs))
        {
            Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{imageId}/rootfs", rootfs)).ExitCode);
        }
        return (await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, path]))).Output;
    }

    private static JsonObject Row(JsonNode report, string section, string name)
        => report[section]!.AsArray().OfType<JsonObject>().Single(row => (string?)row["name"] == name);

    [Fact]
    public async Task AFileRunsThreeTimesCreatingThenSkippingThenOverwritingWithAFailingLayer()
    {
        await KiwiRecipes.RegisterAsync(Cray, await KiwiRecipes.ArchiveAsync(Cray, "bootprep"));
        var repositoryA = await RepositoryAsync("a", ("site.yml", LayerA));
        var repositoryB = await RepositoryAsync("b", ("app.yml", LayerB), ("fail.yml", Failing));
        var variables = Path.Combine(Cray.Root, "bootprep-vars.yaml");
        await File.WriteAllTextAsync(variables, "site:\n  branch: main\nrelease: from-the-file\n");
        var input = Path.Combine(Cray.Root, "bootprep.yaml");
        await File.WriteAllTextAsync(input, InputFile(repositoryA, repositoryB, "app.yml", "skip", "skip"));
        var keysBefore = (await JsonAsync("ims", "public-keys", "list")).AsArray().Count;
        string[] run = ["bootprep", "run", input, "--vars-file", variables, "--vars", "release=r1", "--public-key-file-path", environment.PrivateKey + ".pub", "--format", "json"];
        var saved = Path.Combine(Cray.Root, "bootprep-requests");

        var first = await Cray.CrayAsync([.. run, "--save-files", saved]);
        Assert.True(first.ExitCode == 0, first.Error + first.Output);
        var report = JsonNode.Parse(first.Output)!;
        // Not a terminal: a line per phase change on stderr.
        Assert.Contains("configuration bootprep-a: created", first.Error);
        Assert.Matches(@"image compute-debian-test: [a-z_]+ \(IMS job [0-9a-f-]{36}\)", first.Error);
        Assert.Contains("image application-r1: waiting for its base image compute-debian-test", first.Error);
        var sessionRequest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(saved, "cfs-session-compute-debian-test.json")))!;
        Assert.Equal(["Compute", "Application"], sessionRequest["target"]!["groups"]!.AsArray().Select(group => (string?)group!["name"]));
        Assert.Equal("compute-debian-test", (string?)sessionRequest["target"]!["image_map"]![0]!["result_name"]);
        Assert.Equal("compute-debian-test-pre-configuration", (string?)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(saved, "ims-job-compute-debian-test.json")))!["image_root_archive_name"]);
        Assert.Equal(["bootprep-a", "bootprep-b"], report["configurations"]!.AsArray().Select(row => (string?)row!["name"]));
        var compute = Row(report, "images", "compute-debian-test");
        var application = Row(report, "images", "application-r1");
        var customizedBase = Row(report, "images", "base-r1");
        Assert.Equal("compute-debian-test-pre-configuration", (string?)(await JsonAsync("ims", "images", "describe", (string)compute["preconfigured_image_id"]!))["name"]);
        Assert.Null(application["preconfigured_image_id"]);
        Assert.Equal(["Compute", "Application"], compute["configuration_group_names"]!.AsArray().Select(group => (string?)group));
        foreach (var row in new[] { compute, application, customizedBase })
        {
            Assert.Equal((string?)row["name"], (string?)(await JsonAsync("ims", "images", "describe", (string)row["final_image_id"]!))["name"]);
        }
        // One group per configuration_group_names entry (and cfs_image, as the reference adds); the application image was made from the customized compute image.
        Assert.Equal("Application,Compute,cfs_image", (await FileInImageAsync((string)compute["final_image_id"]!, "etc/bootprep-layer-a")).Trim());
        Assert.Equal("Application,Compute,cfs_image", (await FileInImageAsync((string)application["final_image_id"]!, "etc/bootprep-layer-a")).Trim());
        Assert.Equal("b", (await FileInImageAsync((string)application["final_image_id"]!, "etc/bootprep-layer-b")).Trim());
        Assert.Equal("Compute,cfs_image", (await FileInImageAsync((string)customizedBase["final_image_id"]!, "etc/bootprep-layer-a")).Trim());
        Assert.Equal("compute-template", (string?)report["skipped_session_templates"]![0]!["name"]);
        Assert.Equal(keysBefore, (await JsonAsync("ims", "public-keys", "list")).AsArray().Count);
        // The create job is kept: it is the image's history (--delete-ims-jobs removes it).
        Assert.Contains((await JsonAsync("ims", "jobs", "list")).AsArray(),
            job => (string?)job!["job_type"] == "create" && (string?)job["resultant_image_id"] == (string?)compute["preconfigured_image_id"]);
        Assert.Equal(40, ((string?)(await JsonAsync("cfs", "v3", "configurations", "describe", "bootprep-a"))["layers"]![0]!["commit"])?.Length);

        // Second run: every image exists and says skip; the configurations are stored again (if_exists: overwrite).
        var imagesBefore = (await JsonAsync("ims", "images", "list")).AsArray().Count;
        var second = await Cray.CrayAsync(run);
        Assert.True(second.ExitCode == 0, second.Error + second.Output);
        var skipped = JsonNode.Parse(second.Output)!;
        Assert.Empty(skipped["images"]!.AsArray());
        Assert.Equal((string?)compute["final_image_id"], (string?)Row(skipped, "skipped_images", "compute-debian-test")["final_image_id"]);
        Assert.Equal(3, skipped["skipped_images"]!.AsArray().Count);
        Assert.Equal(imagesBefore, (await JsonAsync("ims", "images", "list")).AsArray().Count);

        // Third run: compute is skipped (its dependents use it), the others overwritten; layer b now fails.
        await File.WriteAllTextAsync(input, InputFile(repositoryA, repositoryB, "fail.yml", "skip", "overwrite"));
        var third = await Cray.CrayAsync(run);
        Assert.Equal(1, third.ExitCode);
        var overwritten = JsonNode.Parse(third.Output)!;
        var failed = Row(overwritten, "images", "application-r1");
        Assert.Null(failed["final_image_id"]);
        var error = (string)failed["error"]!;
        Assert.Contains("see: cray cfs sessions logs bootprep-", error);
        Assert.Contains("Failed: image application-r1: CFS session bootprep-", third.Error);
        var sessionName = error.Split(' ').First(word => word.StartsWith("bootprep-", StringComparison.Ordinal));
        var session = await JsonAsync("cfs", "v3", "sessions", "describe", sessionName);
        Assert.Equal((string?)compute["final_image_id"], (string?)session["target"]!["groups"]![0]!["members"]![0]);
        var images = (await JsonAsync("ims", "images", "list")).AsArray().Select(image => (string?)image!["id"]).ToList();
        // The failed image's old one stays; the replaced one is gone only because its replacement was made.
        Assert.Contains((string?)application["final_image_id"], images);
        var replacement = (string?)Row(overwritten, "images", "base-r1")["final_image_id"];
        Assert.NotNull(replacement);
        Assert.Contains(replacement, images);
        Assert.DoesNotContain((string?)customizedBase["final_image_id"], images);
        Assert.Contains((string?)customizedBase["final_image_id"], (await JsonAsync("ims", "deleted", "images", "list")).AsArray().Select(image => (string?)image!["id"]));
        Assert.Equal((string?)compute["final_image_id"], (string?)Row(overwritten, "skipped_images", "compute-debian-test")["final_image_id"]);
        await SeedScenario.AssertNoJobWaitsAsync(Cray);
    }

    [Fact]
    public async Task ADryRunPrintsThePlanAndCreatesNothing()
    {
        var repository = await RepositoryAsync("dry", ("site.yml", LayerA));
        var input = Path.Combine(Cray.Root, "bootprep-dry.yaml");
        await File.WriteAllTextAsync(input, $$$"""
            schema_version: 1.0.9
            configurations:
            - name: "dry-{{ release }}"
              layers:
              - playbook: site.yml
                git: {url: {{{repository}}}, branch: main}
            images:
            - name: "dry-{{ base.name }}"
              base: {ims: {name: base, type: image}}
              configuration: "dry-{{ release }}"
              configuration_group_names: [Compute]
            """);
        var imagesBefore = (await JsonAsync("ims", "images", "list")).AsArray().Count;
        var sessionsBefore = (await SeedScenario.ListAsync(Cray, "cfs", "sessions", "list")).Count;
        var result = await Cray.CrayAsync("bootprep", "run", input, "--vars", "release=7", "--dry-run");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("create     dry-7: 1 layer", result.Output);
        Assert.Contains($"create     dry-base: from IMS image base ({environment.BaseImageId}); CFS session with dry-7 (groups Compute)", result.Output);
        Assert.Contains("of the 1 that would be made, 1 have no dependencies", result.Output);
        Assert.Equal(2, (await Cray.CrayAsync("cfs", "v3", "configurations", "describe", "dry-7")).ExitCode);
        Assert.Equal(imagesBefore, (await JsonAsync("ims", "images", "list")).AsArray().Count);
        Assert.Equal(sessionsBefore, (await SeedScenario.ListAsync(Cray, "cfs", "sessions", "list")).Count);
    }

    [Fact]
    public async Task ASessionThatRunsOverTheTimeoutIsDeletedAndTheImageReportedFailed()
    {
        var repository = await RepositoryAsync("slow", ("site.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.raw: sleep 60\n"));
        var input = Path.Combine(Cray.Root, "bootprep-slow.yaml");
        await File.WriteAllTextAsync(input, $$$"""
            configurations:
            - name: slow
              layers:
              - playbook: site.yml
                git: {url: {{{repository}}}, branch: main}
            images:
            - name: slow-image
              base: {ims: {name: base, type: image}}
              configuration: slow
              configuration_group_names: [Compute]
            """);
        var result = await Cray.CrayAsync("bootprep", "run", input, "--timeout", "1s", "--format", "json");
        Assert.Equal(1, result.ExitCode);
        var error = (string)JsonNode.Parse(result.Output)!["images"]![0]!["error"]!;
        Assert.Contains("did not complete within 1s (--timeout); it was deleted", error);
        var session = error.Split(' ').First(word => word.StartsWith("bootprep-", StringComparison.Ordinal));
        Assert.Equal(2, (await Cray.CrayAsync("cfs", "sessions", "describe", session)).ExitCode);
        Assert.DoesNotContain(await SeedScenario.ListAsync(Cray, "ims", "images", "list"), image => (string?)image!["name"] == "slow-image");
    }

    [Fact]
    public async Task ARequestThatCannotBeSavedFailsItsItemAndTheRunStillReports()
    {
        var repository = await RepositoryAsync("unsaved", ("site.yml", LayerA));
        var input = Path.Combine(Cray.Root, "bootprep-unsaved.yaml");
        await File.WriteAllTextAsync(input, $$$"""
            configurations:
            - name: unsaved
              layers:
              - playbook: site.yml
                git: {url: {{{repository}}}, branch: main}
            - name: saved
              layers:
              - playbook: site.yml
                git: {url: {{{repository}}}, branch: main}
            """);
        var saved = Path.Combine(Cray.Root, "bootprep-unsaved-requests");
        // A directory where the request's file would go: the write fails.
        Directory.CreateDirectory(Path.Combine(saved, "cfs-configuration-unsaved.json"));
        var result = await Cray.CrayAsync("bootprep", "run", input, "--save-files", saved, "--format", "json");
        Assert.Equal(1, result.ExitCode);
        var report = JsonNode.Parse(result.Output)!;
        Assert.Equal("failed", (string?)Row(report, "configurations", "unsaved")["action"]);
        Assert.Equal("created", (string?)Row(report, "configurations", "saved")["action"]);
        Assert.Contains("Failed: configuration unsaved: not stored:", result.Error);
        Assert.Equal(2, (await Cray.CrayAsync("cfs", "v3", "configurations", "describe", "unsaved")).ExitCode);
    }

    [Fact]
    public async Task TheGeneratedExampleNamesTheServersImageAndIsValid()
    {
        var directory = Path.Combine(Cray.Root, "bootprep-example");
        Directory.CreateDirectory(directory);
        var generated = await Cray.CrayAsync("bootprep", "generate-example", "--output-dir", directory);
        Assert.True(generated.ExitCode == 0, generated.Error);
        var example = Path.Combine(directory, "bootprep-example.yaml");
        Assert.Contains("      name: \"base\"\n", await File.ReadAllTextAsync(example));
        var valid = await Cray.CrayAsync("bootprep", "validate", example, "--vars", "site.version=1", "--vars", "site.repository=/srv/site");
        Assert.True(valid.ExitCode == 0, valid.Error);
        Assert.Equal(1, (await Cray.CrayAsync("bootprep", "generate-example", "--output-dir", directory)).ExitCode);
    }
}
