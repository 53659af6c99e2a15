using Cray.Cfs.Components;
using Cray.Cfs.Model;
using Cray.Cfs.Runner;
using Cray.Processes;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs.Tests;

/// <summary>The runner's plain parts, reached without a session run: inventory, recap, debug configurations, component state.</summary>
public sealed class SessionRunnerPartsTests : IDisposable
{
    private readonly CfsTestServer server = new();

    public void Dispose() => server.Dispose();

    private static readonly IReadOnlyList<TargetGroup> Groups =
        [new TargetGroup("Compute", ["img-a", "IMG-B"]), new TargetGroup("Application", ["img-b"])];

    [Fact]
    public void AnImageInventoryHoldsTheSessionsGroupsAndCfsImageWithOneHostPerImage()
    {
        var images = new List<ImageHost>
        {
            new("img-a", "job-a", "a_cfs_s") { Host = "127.0.0.1", Port = 2201 },
            new("img-b", "job-b", "b_cfs_s") { Host = "127.0.0.1", Port = 2202 },
        };
        var inventory = SessionInventory.Build(new SessionTarget(TargetDefinitions.Image, Groups, null), images, "/keys/id_image");
        var children = inventory["all"]!["children"]!.AsObject();
        Assert.Equal(["cfs_image", "Compute", "Application"], children.Select(pair => pair.Key));
        Assert.Equal(["img-a", "img-b"], children["Compute"]!["hosts"]!.AsObject().Select(pair => pair.Key));
        Assert.Equal(["img-b"], children["Application"]!["hosts"]!.AsObject().Select(pair => pair.Key));
        var host = children["cfs_image"]!["hosts"]!["img-b"]!;
        Assert.Equal(2202, (int)host["ansible_port"]!);
        Assert.True((bool)host["cray_cfs_image"]!);
        Assert.Equal("/usr/bin/env python3", (string?)host["ansible_python_interpreter"]);
        Assert.Equal("/keys/id_image", (string?)host["ansible_ssh_private_key_file"]);
        Assert.False((bool)inventory["all"]!["vars"]!["cray_cfs_image"]!);
    }

    /// <summary>Images whose layer was restored from the cache are left out of its run: checked against Ansible's own pattern parser.</summary>
    [Theory]
    [InlineData("aaa-1,bbb-2,ccc-3", "aaa-1", "bbb-2,ccc-3")]
    [InlineData("Compute", "aaa-1,ccc-3", "bbb-2")]
    [InlineData("Compute:!bbb-2", "aaa-1", "ccc-3")]
    [InlineData("Compute,aaa-1", "ccc-3", "aaa-1,bbb-2")]
    public async Task AReusedImageIsLeftOutOfTheLayersLimit(string limit, string reused, string expected)
    {
        var inventory = Path.Combine(server.DataDirectory, "limit-inventory.yml");
        await File.WriteAllTextAsync(inventory, "all:\n  children:\n    Compute:\n      hosts:\n        aaa-1: {}\n        bbb-2: {}\n        ccc-3: {}\n");
        var excluding = SessionExecutor.Excluding(limit, reused.Split(','));
        var listed = await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("ansible", ["-i", inventory, "all", "--list-hosts", "--limit", excluding])
        {
            Environment = new Dictionary<string, string?> { ["ANSIBLE_LOCALHOST_WARNING"] = "False" },
        });
        var hosts = listed.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Where(line => line.Contains('-', StringComparison.Ordinal) && !line.Contains(' ', StringComparison.Ordinal));
        Assert.Equal(expected.Split(',', StringSplitOptions.RemoveEmptyEntries), hosts.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ASpecInventoryIsTheGroupsAndMembersAsGivenAndARepoInventoryHasNoHosts()
    {
        var spec = SessionInventory.Build(new SessionTarget(TargetDefinitions.Spec, [new TargetGroup("Compute", ["x1", "x2"]), new TargetGroup("UAN", ["x3"])], null), [], "");
        Assert.Equal("""{"Compute":{"hosts":{"x1":{},"x2":{}}},"UAN":{"hosts":{"x3":{}}}}""", spec["all"]!["children"]!.ToJsonString());
        var repo = SessionInventory.Build(new SessionTarget(TargetDefinitions.Repo, null, null), [], "");
        Assert.Equal("""{"all":{"vars":{"cray_cfs_image":false},"children":{}}}""", repo.ToJsonString());
    }

    [Fact]
    public void TheRecapGivesEachProcessedHostWhetherItBrokeAndWhetherAPlayWasAborted()
    {
        string[] output =
        [
            "TASK [x] ****",
            "ok: [x1]",
            "fatal: [x2]: FAILED! => {}",
            "PLAY RECAP *********************************************************************",
            "x1                         : ok=3    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   ",
            "x2                         : ok=1    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0   ",
            "x3                         : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0   ",
        ];
        var recap = PlayRecap.Of(output);
        Assert.True(recap.Seen);
        Assert.False(recap.PlayAborted);
        Assert.Equal([new HostRecap("x1", 3, 1, 0, 0), new HostRecap("x2", 1, 0, 0, 1), new HostRecap("x3", 0, 0, 1, 0)], recap.Hosts);
        Assert.Equal([false, true, true], recap.Hosts.Select(host => host.Broken));

        Assert.True(PlayRecap.Of(["NO MORE HOSTS LEFT *************************************************************", .. output]).PlayAborted);
        var silent = PlayRecap.Of(["x1 : ok=3 changed=1 unreachable=0 failed=0"]);
        Assert.False(silent.Seen);
        Assert.Empty(silent.Hosts);
    }

    [Fact]
    public void TheRunnersAnsibleDefaultsGiveWayToWhatTheAnsibleConfigSets()
    {
        var defaults = AnsibleEnvironment.For("[defaults]\nforks = 5\n", "/keys/id_ecdsa", "/tmp/cp", "/s/layer0", "/s/tmp");
        Assert.Equal("/keys/id_ecdsa", defaults["ANSIBLE_PRIVATE_KEY_FILE"]);
        Assert.Equal("root", defaults["ANSIBLE_REMOTE_USER"]);
        Assert.Equal("/tmp/cp", defaults["ANSIBLE_SSH_CONTROL_PATH_DIR"]);
        Assert.Equal("/s/layer0/roles", defaults["ANSIBLE_ROLES_PATH"]);

        var named = AnsibleEnvironment.For("[defaults]\nremote_user = admin\n  private_key_file: /etc/site/key\n[ssh_connection]\ncontrol_path = /run/cp/%%h\n",
            "/keys/id_ecdsa", "/tmp/cp", "/s/layer0", "/s/tmp");
        Assert.False(named.ContainsKey("ANSIBLE_PRIVATE_KEY_FILE"));
        Assert.False(named.ContainsKey("ANSIBLE_REMOTE_USER"));
        Assert.False(named.ContainsKey("ANSIBLE_SSH_CONTROL_PATH_DIR"));
    }

    [Fact]
    public void TheGeneratedInventoryReplacesASymbolicLinkInsteadOfWritingThroughIt()
    {
        var directory = Directory.CreateTempSubdirectory("cfs-inventory-test-").FullName;
        try
        {
            var workspace = new SessionWorkspace("s", directory);
            Directory.CreateDirectory(workspace.InventoryDirectory);
            var victim = Path.Combine(directory, "victim");
            File.WriteAllText(victim, "untouched");
            File.CreateSymbolicLink(Path.Combine(workspace.InventoryDirectory, SessionInventory.GeneratedFileName), victim);

            SessionInventory.Write(new SessionTarget(TargetDefinitions.Spec, [new TargetGroup("Compute", ["x1"])], null), workspace);
            Assert.Equal("untouched", File.ReadAllText(victim));
            var generated = new FileInfo(Path.Combine(workspace.InventoryDirectory, SessionInventory.GeneratedFileName));
            Assert.Null(generated.LinkTarget);
            Assert.Contains("\"x1\"", File.ReadAllText(generated.FullName));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void OnlyTheReferencesThreeDebugConfigurationsAreBuiltIn()
    {
        Assert.Contains("ansible.builtin.fail", DebugConfigurations.Playbook("debug_fail"));
        Assert.Contains("ansible_facts", DebugConfigurations.Playbook("debug_facts"));
        Assert.Contains("tasks: []", DebugConfigurations.Playbook("debug_noop"));
        Assert.Null(DebugConfigurations.Playbook("debug_other"));
        Assert.Null(DebugConfigurations.Playbook("noop"));
    }

    [Fact]
    public async Task RecordedStateMarksFailedAndIncompleteLayersAndKeepsTheErrorCount()
    {
        _ = server.CreateClient();
        var put = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components",
            """[{"id":"x1","desired_config":""},{"id":"x2","desired_config":"","error_count":2}]""");
        Assert.True(put.Status is 200 or 201 or 204, put.Body?.ToJsonString());
        var recorder = new ComponentStateRecorder(server.Services.GetRequiredService<ComponentService>());
        var layer = new LayerCheckout("0", "site", "https://git.example/site.git", "site.yml", "abc123", "/unused", "/unused");
        var log = new List<string>();
        // x1 is fine while x2 is unreachable: x1's layer is applied (error_count back to 0), x2's failed (one more error).
        await recorder.RecordAsync("s1", layer, PlayRecap.Of(Recap(("x1", 0, 0), ("x2", 1, 0), ("x9", 0, 0))), log.Add, CancellationToken.None);

        var components = server.Services.GetRequiredService<ComponentService>();
        var x1 = await components.GetAsync("x1", CancellationToken.None);
        var x2 = await components.GetAsync("x2", CancellationToken.None);
        Assert.Equal("applied", x1.State[0].Status);
        Assert.Equal("abc123", x1.State[0].Commit);
        Assert.Equal("s1", x1.State[0].SessionName);
        Assert.Equal(0, x1.ErrorCount);
        Assert.Equal("failed", x2.State[0].Status);
        Assert.Equal(3, x2.ErrorCount);
        Assert.Contains("not components of CFS, so not recorded: x9", Assert.Single(log));

        // The same layer again with a play aborted (any_errors_fatal): the healthy x1 is incomplete, replaced rather than appended.
        await recorder.RecordAsync("s2", layer, PlayRecap.Of(["NO MORE HOSTS LEFT ****", .. Recap(("x1", 0, 0), ("x2", 0, 1))]), log.Add, CancellationToken.None);
        x1 = await components.GetAsync("x1", CancellationToken.None);
        var state = Assert.Single(x1.State);
        Assert.Equal("incomplete", state.Status);
        Assert.Equal("s2", state.SessionName);
        Assert.Equal(4, (await components.GetAsync("x2", CancellationToken.None)).ErrorCount);

        // No recap (another stdout callback): nothing is recorded, and the log says so.
        await recorder.RecordAsync("s3", layer, PlayRecap.Of(["ok: [x1]"]), log.Add, CancellationToken.None);
        Assert.Equal("s2", (await components.GetAsync("x1", CancellationToken.None)).State[0].SessionName);
        Assert.Contains("printed no PLAY RECAP", log[^1]);
    }

    private static string[] Recap(params (string Host, int Unreachable, int Failed)[] hosts)
        => ["PLAY RECAP ****", .. hosts.Select(host => $"{host.Host} : ok=1 changed=0 unreachable={host.Unreachable} failed={host.Failed} skipped=0")];
}
