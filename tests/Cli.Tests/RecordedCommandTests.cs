namespace Cray.Cli.Tests;

/// <summary>What CLI tests against a recording server share: <c>cray</c> initialised against it, both torn down after.</summary>
public abstract class RecordedCommandTests : IAsyncLifetime
{
    protected RecordingServer Server { get; } = new();

    protected InProcessCray Cray { get; } = new();

    public async Task InitializeAsync()
        => Assert.Equal(0, (await Cray.RunAsync("init", "--hostname", $"127.0.0.1:{Server.Port}", "--no-auth")).ExitCode);

    public Task DisposeAsync()
    {
        Server.Dispose();
        Cray.Dispose();
        return Task.CompletedTask;
    }
}
