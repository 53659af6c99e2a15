using System.Text.Json.Nodes;

namespace Cray.EndToEnd.Tests;

/// <summary>Sessions that a crash or a time limit interrupts end cleanly, with the reason in their log.</summary>
public sealed class SessionLifecycleTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    /// <summary>Stores a one-layer configuration with this playbook and creates an image session of it on the image.</summary>
    private async Task CreateSessionAsync(string name, string playbook, string imageId)
    {
        var repository = Path.Combine(Cray.Root, "repo-" + name);
        Directory.CreateDirectory(repository);
        await File.WriteAllTextAsync(Path.Combine(repository, "site.yml"), playbook);
        await GitRepositories.CommitAllAsync(repository);
        var file = Path.Combine(Cray.Root, name + ".json");
        await File.WriteAllTextAsync(file, $$$"""{"layers":[{"clone_url":"{{{repository}}}","branch":"main","playbook":"site.yml"}]}""");
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "v3", "configurations", "update", name, "--file", file)).ExitCode);
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "sessions", "create", "--name", name, "--configuration-name", name,
            "--target-definition", "image", "--target-group", "Compute", imageId)).ExitCode);
    }

    private async Task CreateWaitingSessionAsync(string name)
    {
        // A configuration whose layer exists, and an image IMS does not know: the session waits.
        await CreateSessionAsync(name, "- hosts: all\n  gather_facts: false\n  tasks: []\n", Guid.NewGuid().ToString());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await Cray.CrayAsync("cfs", "sessions", "logs", name)).Output.Contains("Waiting for image") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(300);
        }
    }

    private async Task<JsonNode> WaitForCompletionAsync(string name, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var session = JsonNode.Parse((await Cray.CrayAsync("cfs", "v3", "sessions", "describe", name, "--format", "json")).Output)!;
            if ((string?)session["status"]!["session"]!["status"] == "complete" || DateTime.UtcNow > deadline)
            {
                return session;
            }
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task ASessionRunningWhenTheServerCrashesEndsAsFailedAfterTheRestart()
    {
        await CreateWaitingSessionAsync("interrupted-session");
        Cray.CrashServer();
        await Cray.StartServerAsync();
        var session = await WaitForCompletionAsync("interrupted-session", TimeSpan.FromSeconds(30));
        Assert.Equal("complete", (string?)session["status"]!["session"]!["status"]);
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.NotNull(session["status"]!["session"]!["completion_time"]);
        Assert.Contains("cray-server stopped while this session ran", (await Cray.CrayAsync("cfs", "sessions", "logs", "interrupted-session")).Output);
        Assert.False(Directory.Exists(Path.Combine(Cray.DataDirectory, "cfs", "sessions", "interrupted-session")));
    }

    [Fact]
    public async Task ACrashDuringALayerLeavesNoAnsibleOrJailRunningAfterTheRestart()
    {
        const string name = "crashed-in-a-layer";
        await CreateSessionAsync(name, "- hosts: Compute\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 600\n", environment.BaseImageId);
        var sessionDirectory = Path.Combine(Cray.DataDirectory, "cfs", "sessions", name);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!ProcessesMentioning(sessionDirectory).Any(line => line.Contains("ansible-playbook", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, (await Cray.CrayAsync("cfs", "sessions", "logs", name)).Output);
            await Task.Delay(300);
        }
        await Task.Delay(2000);

        Cray.CrashServer();
        // Left alone, the layer's Ansible and the job's jail would run on.
        Assert.NotEmpty(ProcessesMentioning(sessionDirectory));
        await Cray.StartServerAsync();
        var session = await WaitForCompletionAsync(name, TimeSpan.FromMinutes(1));
        Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
        Assert.Empty(ProcessesMentioning(sessionDirectory));
        Assert.False(Directory.Exists(sessionDirectory));
        // The IMS worker's own recovery ends the job's jail; it runs beside the runner's.
        var jobs = Path.Combine(Cray.DataDirectory, "ims", "jobs");
        var jailDeadline = DateTime.UtcNow.AddSeconds(30);
        while (ProcessesMentioning(jobs).Count > 0 && DateTime.UtcNow < jailDeadline)
        {
            await Task.Delay(300);
        }
        Assert.Empty(ProcessesMentioning(jobs));
    }

    /// <summary>The command lines of the processes that name the directory.</summary>
    private static List<string> ProcessesMentioning(string directory)
    {
        var found = new List<string>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(directory, StringComparison.Ordinal))
                {
                    found.Add(commandLine);
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        return found;
    }
}
