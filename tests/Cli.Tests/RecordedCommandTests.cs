namespace Cray.Cli.Tests;

/// <summary>What CLI tests against a recording server share: <c>cray</c> initialised against it, both torn down after.</summary>
public abstract class RecordedCommandTests : IAsyncLifetime
{
    protected RecordingServer Server { get; } = new();

    protected InProcessCray Cray { get; } = new();

    public async Task InitializeAsync()
        => Assert.Equal(0, (await Cray.RunAsync("init", "--hostname", $"127.0.0.1:{Server.Port}", "--no-auth")).ExitCode);

    /// <summary>Runs a command that sends no body and checks the one request it made.</summary>
    protected async Task AssertSendsNoBodyToAsync(string command, string method, string path)
    {
        var result = await Cray.RunAsync(command.Split(' '));
        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal(method, request.Method);
        Assert.Equal(path, request.Path);
        Assert.Null(request.Body);
    }

    public Task DisposeAsync()
    {
        Server.Dispose();
        Cray.Dispose();
        return Task.CompletedTask;
    }
}
