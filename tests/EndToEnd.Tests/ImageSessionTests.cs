using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// The seed, command for command: image customization sessions run by the real runner against
/// real IMS jobs (sshd jails), Ansible and squashfs-tools.
/// </summary>
public sealed class ImageSessionTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    private Task StoreConfigurationAsync(string name, string playbookFile) => SeedScenario.StoreConfigurationAsync(Cray, name, playbookFile);

    private Task<JsonNode> DescribeAsync(string name) => SeedScenario.DescribeAsync(Cray, name);

    private Task<JsonNode> WaitForCompletionAsync(string name) => SeedScenario.WaitForCompletionAsync(Cray, name);

    private Task<JsonArray> ListAsync(params string[] command) => SeedScenario.ListAsync(Cray, command);

    private Task AssertNoJobWaitsAsync() => SeedScenario.AssertNoJobWaitsAsync(Cray);

    [Fact]
    public async Task TheSeedWorksCommandForCommandAndTheServerLogHoldsNoFrameworkChatter()
    {
        await SeedScenario.RunAsync(environment);
        // The runner polls IMS several times a second: HttpClient's lines about each poll stay out of the log by default.
        var log = await File.ReadAllTextAsync(Path.Combine(Cray.Root, "server.log"));
        Assert.DoesNotContain("System.Net.Http.HttpClient", log);
        Assert.DoesNotContain("Microsoft.AspNetCore.Hosting", log);
        Assert.Contains("cray-server listening on", log);
        // What an operator needs is there: each phase of the job and the session, naming them.
        Assert.Contains("CFS session example: Phase layer 0 (example) finished in", log);
        Assert.Matches("IMS job [0-9a-f-]{36}: Phase packaging_artifacts finished in", log);
    }

    [Fact]
    public async Task AnsibleRunsSandboxedAndAPlaybookStillInstallsChownsAndSetsCapabilities()
    {
        // delegate_to: localhost runs on Ansible's side: it must not read a root-only file of the host nor write into the data directory.
        var marker = Path.Combine(Cray.Root, $"ansible-marker-{Guid.NewGuid():n}");
        await File.WriteAllTextAsync(marker, "host-secret-do-not-leak");
        File.SetUnixFileMode(marker, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var planted = Path.Combine(Cray.DataDirectory, "planted-by-a-playbook");

        var package = Path.Combine(Cray.Root, "cray-test-package");
        Directory.CreateDirectory(Path.Combine(package, "DEBIAN"));
        Directory.CreateDirectory(Path.Combine(package, "usr", "share", "cray-test"));
        await File.WriteAllTextAsync(Path.Combine(package, "DEBIAN", "control"),
            "Package: cray-test\nVersion: 1.0\nArchitecture: all\nMaintainer: tests <t@example.com>\nDescription: a package a playbook installs\n");
        await File.WriteAllTextAsync(Path.Combine(package, "usr", "share", "cray-test", "hello"), "installed by dpkg\n");
        var repository = Path.Combine(Cray.Root, "layer-sandbox");
        Directory.CreateDirectory(repository);
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("dpkg-deb", ["--root-owner-group", "--build", package, Path.Combine(repository, "cray-test.deb")]));
        await File.WriteAllTextAsync(Path.Combine(repository, "sandbox.yml"), $$$"""
            - hosts: Compute
              gather_facts: false
              tasks:
                - name: Read a root-only file of the host from Ansible's side
                  ansible.builtin.command: cat {{{marker}}}
                  delegate_to: localhost
                  register: host_read
                  ignore_errors: true
                - name: Write into the server's data directory from Ansible's side
                  ansible.builtin.shell: mkdir -p {{{Cray.DataDirectory}}} && echo planted > {{{planted}}}
                  delegate_to: localhost
                  ignore_errors: true
                - name: Report what Ansible's side could read
                  ansible.builtin.copy:
                    dest: /etc/cray-sandbox-report
                    content: "{{ host_read.stdout | default('') }}"
                - ansible.builtin.copy:
                    src: cray-test.deb
                    dest: /tmp/cray-test.deb
                - ansible.builtin.command: dpkg -i /tmp/cray-test.deb
                - ansible.builtin.file:
                    path: /usr/share/cray-test/hello
                    owner: nobody
                    group: nogroup
                - name: Give a copy of true the net_raw capability (what setcap writes)
                  ansible.builtin.shell: >-
                    cp /usr/bin/true /usr/bin/cray-captest &&
                    python3 -c "import os; os.setxattr('/usr/bin/cray-captest', 'security.capability', bytes.fromhex('0100000200200000000000000000000000000000'))"
            """);
        await GitRepositories.CommitAllAsync(repository);
        var file = Path.Combine(Cray.Root, "sandbox.json");
        await File.WriteAllTextAsync(file, $$$"""{"layers":[{"name":"sandbox","clone_url":"{{{repository}}}","branch":"main","playbook":"sandbox.yml"}]}""");
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "v3", "configurations", "update", "sandboxed", "--file", file)).ExitCode);

        var created = await Cray.CrayAsync("cfs", "sessions", "create", "--name", "sandboxed", "--configuration-name", "sandboxed",
            "--target-definition", "image", "--target-group", "Compute", environment.BaseImageId);
        Assert.True(created.ExitCode == 0, created.Error);
        var session = await WaitForCompletionAsync("sandboxed");
        var log = (await Cray.CrayAsync("cfs", "sessions", "logs", "sandboxed")).Output;
        Assert.True((string?)session["status"]!["session"]!["succeeded"] == "true", log);
        Assert.False(File.Exists(planted));
        Assert.DoesNotContain("host-secret-do-not-leak", log);

        var resultId = (string)session["status"]!["artifacts"]![0]!["result_id"]!;
        var rootfs = Path.Combine(Cray.Root, "sandboxed.squashfs");
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{resultId}/rootfs", rootfs)).ExitCode);
        var report = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, "etc/cray-sandbox-report"]));
        Assert.Equal("", report.Output.Trim());
        var listing = (await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("unsquashfs", ["-lln", rootfs, "usr/share/cray-test/hello", "var/lib/dpkg/info/cray-test.list"]))).Output;
        Assert.Contains("65534/65534", listing);
        Assert.Contains("var/lib/dpkg/info/cray-test.list", listing);
        var extracted = Path.Combine(Cray.Root, "sandboxed-extract");
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("unsquashfs", ["-q", "-d", extracted, rootfs, "usr/bin/cray-captest"]));
        var capabilities = await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("getcap", [Path.Combine(extracted, "usr", "bin", "cray-captest")]));
        Assert.Contains("cap_net_raw=ep", capabilities.Output);
    }

    [Fact]
    public async Task TwoGroupsWithTwoImagesGiveTwoArtifactsAndAnImageInBothGroupsIsOneHost()
    {
        await StoreConfigurationAsync("two-images", "site.yml");
        var second = JsonNode.Parse((await Cray.CrayAsync("ims", "images", "import", "--name", "second", "--rootfs",
            await JobEnvironment.BaseImagePathAsync(), "--format", "json")).Output)!;
        var secondId = (string)second["id"]!;
        var result = await Cray.CrayAsync("cfs", "v3", "sessions", "create", "--name", "two-images", "--configuration-name", "two-images",
            "--target-definition", "image", "--target-group", "Compute", $"{environment.BaseImageId},{secondId}", "--target-group", "Application", secondId,
            "--target-image-map", secondId, "second-customized", "--wait", "--format", "json");
        Assert.True(result.ExitCode == 0, result.Error);
        var artifacts = JsonNode.Parse(result.Output)!["status"]!["artifacts"]!.AsArray();
        Assert.Equal(2, artifacts.Count);
        var mapped = artifacts.Single(artifact => (string?)artifact!["image_id"] == secondId)!;
        Assert.Equal("second-customized", (string?)JsonNode.Parse((await Cray.CrayAsync("ims", "images", "describe", (string)mapped["result_id"]!, "--format", "json")).Output)!["name"]);
        Assert.Contains("Phase layer 0 (example) finished", result.Error);
    }

    [Fact]
    public async Task AFailingLayerCompletesFalseWithNoArtifactsImagesOrWaitingJobs()
    {
        await StoreConfigurationAsync("failing", "fail.yml");
        var imagesBefore = (await ListAsync("ims", "images", "list")).Count;
        var result = await Cray.CrayAsync("cfs", "v3", "sessions", "create", "--name", "failing", "--configuration-name", "failing",
            "--target-definition", "image", "--target-group", "Compute", environment.BaseImageId, "--wait", "--format", "json");
        Assert.Equal(1, result.ExitCode);
        var session = JsonNode.Parse(result.Output)!;
        Assert.Equal("complete", (string?)session["status"]!["session"]!["status"]);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Empty(session["status"]!["artifacts"]!.AsArray());
        Assert.Equal(imagesBefore, (await ListAsync("ims", "images", "list")).Count);
        await AssertNoJobWaitsAsync();
        Assert.Contains("Layer 0 (example) failed", (await Cray.CrayAsync("cfs", "sessions", "logs", "failing")).Output);
    }

    [Fact]
    public async Task ASessionNamingASoftDeletedImageWaitsUntilItIsUndeleted()
    {
        await StoreConfigurationAsync("waiting", "site.yml");
        var imported = JsonNode.Parse((await Cray.CrayAsync("ims", "images", "import", "--name", "later", "--rootfs",
            await JobEnvironment.BaseImagePathAsync(), "--format", "json")).Output)!;
        var imageId = (string)imported["id"]!;
        Assert.Equal(0, (await Cray.CrayAsync("ims", "images", "delete", imageId)).ExitCode);

        Assert.Equal(0, (await Cray.CrayAsync("cfs", "sessions", "create", "--name", "waiting", "--configuration-name", "waiting",
            "--target-definition", "image", "--target-group", "Compute", imageId)).ExitCode);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await Cray.CrayAsync("cfs", "sessions", "logs", "waiting")).Output.Contains($"Waiting for image {imageId}") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(300);
        }
        Assert.Contains("IMS does not know it yet", (await Cray.CrayAsync("cfs", "sessions", "logs", "waiting")).Output);
        Assert.Equal("running", (string?)(await DescribeAsync("waiting"))["status"]!["session"]!["status"]);

        Assert.Equal(0, (await Cray.CrayAsync("ims", "deleted", "images", "update", imageId, "--operation", "undelete")).ExitCode);
        var session = await WaitForCompletionAsync("waiting");
        Assert.True((string?)session["status"]!["session"]!["succeeded"] == "true", (await Cray.CrayAsync("cfs", "sessions", "logs", "waiting")).Output);
        Assert.Single(session["status"]!["artifacts"]!.AsArray());
    }

    [Fact]
    public async Task DeletingARunningSessionDeletesItsImsJobs()
    {
        await StoreConfigurationAsync("deleted-session", "site.yml");
        var missing = Guid.NewGuid().ToString();
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "sessions", "create", "--name", "deleted-session", "--configuration-name", "deleted-session",
            "--target-definition", "image", "--target-group", "Compute", $"{environment.BaseImageId},{missing}")).ExitCode);
        // It waits for the unknown image before it starts any job; stage one by undeleting nothing and deleting now.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await Cray.CrayAsync("cfs", "sessions", "logs", "deleted-session")).Output.Contains("Waiting for image") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(300);
        }
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "sessions", "delete", "deleted-session")).ExitCode);
        Assert.Equal(2, (await Cray.CrayAsync("cfs", "sessions", "describe", "deleted-session")).ExitCode);
        await AssertNoJobWaitsAsync();
        Assert.False(Directory.Exists(Path.Combine(Cray.DataDirectory, "cfs", "sessions", "deleted-session")));
    }

    [Theory]
    [InlineData("../../../../etc/hostname", "", "is not a file inside its repository")]
    [InlineData("site.yml", "0123456789abcdef0123456789abcdef01234567", "does not exist in")]
    [InlineData("site.yml", "unreachable", "Cannot clone")]
    public async Task BadLayersFailTheSessionBeforeAnyImsJobStarts(string playbook, string commitOrUrl, string reason)
    {
        var baseName = "bad-layer-base-" + Guid.NewGuid().ToString("n")[..8];
        await StoreConfigurationAsync(baseName, "site.yml");
        var configuration = JsonNode.Parse((await Cray.CrayAsync("cfs", "v3", "configurations", "describe", baseName, "--format", "json")).Output)!;
        var layer = configuration["layers"]![0]!.AsObject();
        layer.Remove("branch");
        layer["playbook"] = playbook;
        if (commitOrUrl == "unreachable")
        {
            layer["clone_url"] = "https://vcs.invalid/no/such/repository.git";
        }
        else if (commitOrUrl.Length > 0)
        {
            layer["commit"] = commitOrUrl;
        }
        var name = "bad-" + Guid.NewGuid().ToString("n")[..8];
        var file = Path.Combine(Cray.Root, name + ".json");
        await File.WriteAllTextAsync(file, new JsonObject { ["layers"] = new JsonArray(layer.DeepClone()) }.ToJsonString());
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "v3", "configurations", "update", name, "--file", file)).ExitCode);
        var jobsBefore = (await ListAsync("ims", "jobs", "list")).Count;

        var result = await Cray.CrayAsync("cfs", "v3", "sessions", "create", "--name", name, "--configuration-name", name,
            "--target-definition", "image", "--target-group", "Compute", environment.BaseImageId, "--wait", "--format", "json");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("false", (string?)JsonNode.Parse(result.Output)!["status"]!["session"]!["succeeded"]);
        Assert.Contains(reason, (await Cray.CrayAsync("cfs", "sessions", "logs", name)).Output);
        Assert.Equal(jobsBefore, (await ListAsync("ims", "jobs", "list")).Count);
        Assert.False(Directory.Exists(Path.Combine(Cray.DataDirectory, "cfs", "sessions", name)));
    }

    [Fact]
    public async Task DebugOnFailureKeepsTheJailsUpUntilReleased()
    {
        await StoreConfigurationAsync("debugging", "fail.yml");
        var name = "debugging";
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "v3", "sessions", "create", "--name", name, "--configuration-name", "debugging",
            "--target-definition", "image", "--target-group", "Compute", environment.BaseImageId, "--debug-on-failure", "true")).ExitCode);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        string log;
        while (!(log = (await Cray.CrayAsync("cfs", "sessions", "logs", name)).Output).Contains("ends the hold early") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(300);
        }
        var hint = log.Split('\n').First(line => line.Contains("stays up for", StringComparison.Ordinal));
        var command = hint[(hint.IndexOf("ssh ", StringComparison.Ordinal) + 4)..].Split(' ');
        var inJail = await ProcessRunner.Instance.RunAsync(new ProcessRequest("ssh",
            [command[0], command[1], command[2], command[3], "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", command[4].Trim(), "cat /etc/os-release"]));
        Assert.True(inJail.Succeeded, inJail.Output);
        Assert.Contains("bookworm", inJail.Output);
        Assert.Equal("running", (string?)(await DescribeAsync(name))["status"]!["session"]!["status"]);

        // Released through the API, as from any server sharing the store.
        var release = await Cray.CrayAsync("cfs", "v3", "sessions", "release", name, "--format", "json");
        Assert.True(release.ExitCode == 0, release.Error);
        var session = await WaitForCompletionAsync(name);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Contains("debug_on_failure: released (cray cfs v3 sessions release).", (await Cray.CrayAsync("cfs", "sessions", "logs", name)).Output);
        var again = await Cray.CrayAsync("cfs", "v3", "sessions", "release", name);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains($"Error: Session not holding: Session {name} is not holding for debugging", again.Error);
        await AssertNoJobWaitsAsync();
    }
}
