using Cray.Ims.Worker;
using Microsoft.Extensions.Time.Testing;

namespace Cray.Ims.Tests;

/// <summary>The user's complete/failed signal: noticed as soon as the file appears, and bounded by the user wait timeout.</summary>
public sealed class UserSignalsTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("user-signals-").FullName;
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task WithoutASignalTheWaitEndsAtTheTimeoutAndNotBefore()
    {
        var waiting = UserSignals.WaitAsync(directory, TimeSpan.FromHours(24), clock, CancellationToken.None);
        for (var hour = 0; hour < 23; hour++)
        {
            clock.Advance(TimeSpan.FromHours(1));
            await Task.WhenAny(waiting, Task.Delay(5));
        }
        Assert.False(waiting.IsCompleted, "the wait ended before its 24 hours");
        for (var step = 0; !waiting.IsCompleted && step < 1000; step++)
        {
            clock.Advance(TimeSpan.FromMinutes(30));
            await Task.WhenAny(waiting, Task.Delay(5));
        }
        Assert.Null(await waiting);
    }

    [Theory]
    [InlineData("complete", UserSignal.Complete)]
    [InlineData("failed", UserSignal.Failed)]
    public async Task AFileMadeWhileWaitingEndsTheWaitWithoutTheClockMoving(string file, UserSignal expected)
    {
        var waiting = UserSignals.WaitAsync(directory, TimeSpan.FromHours(24), clock, CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(directory, file), "");
        Assert.Equal(expected, await waiting.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void FailedWinsWhenBothAreThere()
    {
        File.WriteAllText(Path.Combine(directory, UserSignals.CompleteFile), "");
        File.WriteAllText(Path.Combine(directory, UserSignals.FailedFile), "");
        Assert.Equal(UserSignal.Failed, UserSignals.Current(directory));
    }
}
