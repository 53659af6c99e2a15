using System.Text.Json.Nodes;
using Cray.Platform.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>Sessions that a crash or a time limit interrupts end cleanly, with the reason in their log.</summary>
public sealed class SessionLifecycleTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    private async Task CreateWaitingSessionAsync(string name)
    {
        // A configuration whose layer exists, and an image IMS does not know: the session waits.
        var repository = Path.Combine(Cray.Root, "repo-" + name);
        Directory.CreateDirectory(repository);
        await File.WriteAllTextAsync(Path.Combine(repository, "site.yml"), "- hosts: all\n  gather_facts: false\n  tasks: []\n");
        foreach (var arguments in new[] { new[] { "init", "-q", "-b", "main" }, ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x"] })
        {
            await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("git", ["-C", repository, .. arguments]));
        }
        var file = Path.Combine(Cray.Root, name + ".json");
        await File.WriteAllTextAsync(file, $$$"""{"layers":[{"clone_url":"{{{repository}}}","branch":"main","playbook":"site.yml"}]}""");
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "v3", "configurations", "update", name, "--file", file)).ExitCode);
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "sessions", "create", "--name", name, "--configuration-name", name,
            "--target-definition", "image", "--target-group", "Compute", Guid.NewGuid().ToString())).ExitCode);
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
    public async Task SessionTimeoutStopsASessionThatRunsTooLong()
    {
        Assert.Equal(0, (await Cray.CrayAsync("cfs", "v3", "options", "update", "--session-timeout", "1m")).ExitCode);
        try
        {
            await CreateWaitingSessionAsync("too-long");
            var session = await WaitForCompletionAsync("too-long", TimeSpan.FromMinutes(3));
            Assert.Equal("false", (string?)session["status"]!["session"]!["succeeded"]);
            Assert.Contains("session_timeout", (await Cray.CrayAsync("cfs", "sessions", "logs", "too-long")).Output);
        }
        finally
        {
            await Cray.CrayAsync("cfs", "v3", "options", "update", "--session-timeout", "12h");
        }
    }
}
