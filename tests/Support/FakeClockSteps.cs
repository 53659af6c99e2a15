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
            // Real time for the work the step wakes (a store write, a claim) before the next step: on a busy
            // machine a shorter pause lets fake time run past a bound before the work could happen.
            await Task.Delay(20);
        }
    }
}
