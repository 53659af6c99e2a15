using Microsoft.Extensions.Time.Testing;

namespace Cray.Tests.Support;

/// <summary>Moves a fake clock on a second at a time, letting background work run between steps, until a condition holds.</summary>
public static class FakeClockSteps
{
    public static async Task AdvanceUntilAsync(this FakeTimeProvider clock, Func<Task<bool>> condition, TimeSpan limit)
    {
        var until = clock.GetUtcNow() + limit;
        while (!await condition())
        {
            Assert.True(clock.GetUtcNow() < until, "the condition was not met in time");
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }
    }
}
