using System.Text;
using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// A server, and a "node": a real sshd on 127.0.0.1 that trusts the key CFS generated for nodes
/// (DATA-DIR/cfs/ssh/id_ecdsa.pub), as an admin would set one up for spec and repo sessions.
/// </summary>
public sealed class NodeEnvironment : IAsyncLifetime
{
    public CrayEnvironment Cray { get; } = new();

    public int NodePort { get; } = CrayEnvironment.FreePort();

    /// <summary>Where the test playbooks leave one file per host they configured.</summary>
    public string MarkerDirectory => Path.Combine(Cray.Root, "node-markers");

    private string NodeDirectory => Path.Combine(Cray.Root, "node");

    private string PidFile => Path.Combine(NodeDirectory, "sshd.pid");

    public async Task InitializeAsync()
    {
        await Cray.InitializeAsync();
        var publicKey = Path.Combine(Cray.DataDirectory, "cfs", "ssh", "id_ecdsa.pub");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(publicKey))
        {
            Assert.True(DateTime.UtcNow < deadline, "cray-server did not create the node key " + publicKey);
            await Task.Delay(200);
        }
        Directory.CreateDirectory(NodeDirectory);
        Directory.CreateDirectory(MarkerDirectory);
        Directory.CreateDirectory("/run/sshd");
        File.Copy(publicKey, Path.Combine(NodeDirectory, "authorized_keys"));
        var hostKey = Path.Combine(NodeDirectory, "host_key");
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]));
        var configuration = Path.Combine(NodeDirectory, "sshd_config");
        await File.WriteAllTextAsync(configuration, $"""
            Port {NodePort}
            ListenAddress 127.0.0.1
            HostKey {hostKey}
            PidFile {PidFile}
            AuthorizedKeysFile {Path.Combine(NodeDirectory, "authorized_keys")}
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            MaxStartups 64:30:128

            """);
        // Without -D sshd returns once it listens, leaving its pid in the PidFile.
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("/usr/sbin/sshd", ["-f", configuration]));
    }

    public async Task DisposeAsync()
    {
        if (File.Exists(PidFile))
        {
            await ProcessRunner.Instance.RunAsync(new ProcessRequest("kill", [File.ReadAllText(PidFile).Trim()]));
        }
        await Cray.DisposeAsync();
    }
}

/// <summary>spec and repo sessions over real SSH, with Ansible, named ansible configs, additional inventory and component state.</summary>
public sealed class NodeSessionTests(NodeEnvironment node) : IClassFixture<NodeEnvironment>
{
    private CrayEnvironment Cray => node.Cray;

    /// <summary>A layer repository whose site.yml leaves a marker per host; returns its path.</summary>
    private async Task<string> LayerRepositoryAsync(string name)
    {
        var repository = Path.Combine(Cray.Root, "layer-" + name);
        Directory.CreateDirectory(repository);
        await File.WriteAllTextAsync(Path.Combine(repository, "site.yml"), $$$"""
            - hosts: Compute
              gather_facts: false
              tasks:
                - name: Leave a marker
                  ansible.builtin.copy:
                    dest: "{{{node.MarkerDirectory}}}/{{{name}}}-{{ inventory_hostname }}"
                    content: "configured by {{{name}}} on {{ inventory_hostname }}\n"

            """);
        await GitRepositories.CommitAllAsync(repository);
        return repository;
    }


    private async Task StoreConfigurationAsync(string name, string body)
    {
        var file = Path.Combine(Cray.Root, name + ".json");
        await File.WriteAllTextAsync(file, body);
        var update = await Cray.CrayAsync("cfs", "v3", "configurations", "update", name, "--file", file);
        Assert.True(update.ExitCode == 0, update.Error);
    }

    private async Task PutComponentsAsync(string json)
    {
        using var http = new HttpClient();
        using var response = await http.PutAsync($"http://127.0.0.1:{Cray.Port}/apis/cfs/v3/components", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<(CommandResult Result, JsonNode Session)> CreateAndWaitAsync(params string[] arguments)
    {
        var result = await Cray.CrayAsync(["cfs", "v3", "sessions", "create", .. arguments, "--wait", "--format", "json"]);
        return (result, JsonNode.Parse(result.Output)!);
    }

    private async Task<string> LogAsync(string session) => (await Cray.CrayAsync("cfs", "sessions", "logs", session)).Output;

    [Fact]
    public async Task ASpecSessionConfiguresTheNodeOverSshAndRecordsComponentState()
    {
        var repository = await LayerRepositoryAsync("spec");
        await StoreConfigurationAsync("node-config", $$"""{"layers":[{"name":"site","clone_url":"{{repository}}","branch":"main","playbook":"site.yml"}]}""");
        // A named ansible config: the node's sshd answers on a port of its own.
        var configs = Path.Combine(Cray.DataDirectory, "cfs", "ansible-configs");
        Directory.CreateDirectory(configs);
        await File.WriteAllTextAsync(Path.Combine(configs, "node-port.cfg"), $"""
            [defaults]
            remote_port = {node.NodePort}
            host_key_checking = False

            [ssh_connection]
            ssh_args = -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5

            """);
        await PutComponentsAsync("""[{"id":"127.0.0.1","desired_config":"node-config"},{"id":"127.0.0.2","desired_config":"node-config","error_count":1}]""");

        var (result, session) = await CreateAndWaitAsync("--name", "spec-session", "--configuration-name", "node-config",
            "--target-definition", "spec", "--target-group", "Compute", "127.0.0.1", "--ansible-config", "node-port");
        Assert.True(result.ExitCode == 0, result.Error + await LogAsync("spec-session"));
        Assert.Equal("true", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Empty(session["status"]!["artifacts"]!.AsArray());
        Assert.Equal("configured by spec on 127.0.0.1", (await File.ReadAllTextAsync(Path.Combine(node.MarkerDirectory, "spec-127.0.0.1"))).Trim());

        var component = JsonNode.Parse((await Cray.CrayAsync("cfs", "v3", "components", "describe", "127.0.0.1", "--state-details", "true", "--format", "json")).Output)!;
        var layer = Assert.Single(component["state"]!.AsArray())!;
        Assert.Equal(repository, (string?)layer["clone_url"]);
        Assert.Equal("site.yml", (string?)layer["playbook"]);
        Assert.Equal("applied", (string?)layer["status"]);
        Assert.Equal("spec-session", (string?)layer["session_name"]);
        Assert.Equal("configured", (string?)component["configuration_status"]);

        // 127.0.0.2 has no sshd on that port: it is unreachable and the session fails, but 127.0.0.1's layer is still applied.
        (result, session) = await CreateAndWaitAsync("--name", "mixed", "--configuration-name", "node-config",
            "--target-definition", "spec", "--target-group", "Compute", "127.0.0.1,127.0.0.2", "--ansible-config", "node-port");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        var healthy = JsonNode.Parse((await Cray.CrayAsync("cfs", "v3", "components", "describe", "127.0.0.1", "--state-details", "true", "--format", "json")).Output)!;
        Assert.Equal("applied", (string?)healthy["state"]![0]!["status"]);
        Assert.Equal("mixed", (string?)healthy["state"]![0]!["session_name"]);
        Assert.Equal(0, (int)healthy["error_count"]!);
        var failed = JsonNode.Parse((await Cray.CrayAsync("cfs", "v3", "components", "describe", "127.0.0.2", "--state-details", "true", "--format", "json")).Output)!;
        Assert.Equal("failed", (string?)failed["state"]![0]!["status"]);
        Assert.Equal(2, (int)failed["error_count"]!);
        Assert.Contains("unreachable=1", await LogAsync("mixed"));
    }

    [Fact]
    public async Task ARepoSessionTakesItsHostsFromTheAdditionalInventory()
    {
        var layer = await LayerRepositoryAsync("repo");
        var inventory = Path.Combine(Cray.Root, "inventory-repo");
        Directory.CreateDirectory(inventory);
        await File.WriteAllTextAsync(Path.Combine(inventory, "nodes.yaml"), $$"""
            all:
              children:
                Compute:
                  hosts:
                    x3000c0s1b0n0:
                      ansible_host: 127.0.0.1
                      ansible_port: {{node.NodePort}}

            """);
        await File.WriteAllTextAsync(Path.Combine(inventory, "legacy.ini"), "[Compute]\nx9 ansible_host=127.0.0.9\n");
        await GitRepositories.CommitAllAsync(inventory);
        await StoreConfigurationAsync("repo-config", $$$"""
            {"layers":[{"name":"site","clone_url":"{{{layer}}}","branch":"main","playbook":"site.yml"}],
             "additional_inventory":{"clone_url":"{{{inventory}}}","branch":"main"}}
            """);

        var (result, session) = await CreateAndWaitAsync("--name", "repo-session", "--configuration-name", "repo-config", "--target-definition", "repo");
        Assert.True(result.ExitCode == 0, result.Error + await LogAsync("repo-session"));
        Assert.Equal("true", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Equal("configured by repo on x3000c0s1b0n0", (await File.ReadAllTextAsync(Path.Combine(node.MarkerDirectory, "repo-x3000c0s1b0n0"))).Trim());
        var log = await LogAsync("repo-session");
        Assert.Contains("Additional inventory from the configuration's additional_inventory", log);
        Assert.Contains("not components of CFS, so not recorded: x3000c0s1b0n0", log);
        Assert.Contains("Warning: Ansible ignores *.ini files in an inventory directory (inventory_ignore_extensions): legacy.ini.", log);

        // The same inventory through the additional_inventory_url option, for a spec session that names the node by its xname.
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "options", "update", "--additional-inventory-url", inventory)).ExitCode);
        try
        {
            await StoreConfigurationAsync("layer-only", $$"""{"layers":[{"name":"site","clone_url":"{{layer}}","branch":"main","playbook":"site.yml"}]}""");
            File.Delete(Path.Combine(node.MarkerDirectory, "repo-x3000c0s1b0n0"));
            (result, _) = await CreateAndWaitAsync("--name", "option-inventory", "--configuration-name", "layer-only",
                "--target-definition", "spec", "--target-group", "Compute", "x3000c0s1b0n0");
            Assert.True(result.ExitCode == 0, result.Error + await LogAsync("option-inventory"));
            Assert.True(File.Exists(Path.Combine(node.MarkerDirectory, "repo-x3000c0s1b0n0")));
            Assert.Contains("Additional inventory from the additional_inventory_url option", await LogAsync("option-inventory"));
        }
        finally
        {
            Assert.Equal(0, (await Cray.CrayAsync("cfs", "options", "update", "--additional-inventory-url", "")).ExitCode);
        }
    }

    [Fact]
    public async Task SessionsThatCannotRunFailWithAClearReasonAndDebugConfigurationsRun()
    {
        var repository = await LayerRepositoryAsync("unused");
        await StoreConfigurationAsync("plain", $$"""{"layers":[{"name":"site","clone_url":"{{repository}}","branch":"main","playbook":"site.yml"}]}""");

        var (result, session) = await CreateAndWaitAsync("--name", "repo-without-inventory", "--configuration-name", "plain", "--target-definition", "repo");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Contains("The repo target takes its hosts from additional inventory, and there is none", await LogAsync("repo-without-inventory"));

        (result, session) = await CreateAndWaitAsync("--name", "missing-config", "--configuration-name", "plain",
            "--target-definition", "spec", "--target-group", "Compute", "127.0.0.1", "--ansible-config", "no-such-config");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Contains("Ansible configuration 'no-such-config' not found: put it in", await LogAsync("missing-config"));

        // debug_noop needs no configuration and no SSH (no task runs); debug_fail fails.
        (result, session) = await CreateAndWaitAsync("--name", "noop", "--configuration-name", "debug_noop", "--target-definition", "spec", "--target-group", "Compute", "x1");
        Assert.True(result.ExitCode == 0, result.Error + await LogAsync("noop"));
        Assert.Equal("true", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Contains("Component state is not recorded for this session", await LogAsync("noop"));
        (result, session) = await CreateAndWaitAsync("--name", "fail", "--configuration-name", "debug_fail", "--target-definition", "spec", "--target-group", "Compute", "127.0.0.1");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Contains("debug_fail fails every host on purpose", await LogAsync("fail"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Cray.DataDirectory, "cfs", "sessions")));
    }
}
