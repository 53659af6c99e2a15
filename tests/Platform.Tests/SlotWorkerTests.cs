using Cray.Platform.Work;
using Cray.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Cray.Platform.Tests;

/// <summary>The claim loop every worker and runner shares: a store out of reach for a while does not end it.</summary>
public sealed class SlotWorkerTests
{
    private sealed class FlakyStoreWorker(FakeTimeProvider clock, int failures)
        : SlotWorker(new RunningWork(), slots: 1, new LeaseSettings("test-worker", TimeSpan.FromSeconds(60)), clock, NullLogger.Instance)
    {
        private int claims;

        public TaskCompletionSource<string> Ran { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Claims => claims;

        protected override Task RecoverAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        protected override async Task<string> ClaimNextAsync(Func<WorkLease> lease, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref claims) <= failures)
            {
                throw new InvalidOperationException("the store cannot be reached");
            }
            if (Ran.Task.IsCompleted)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            return "item-1";
        }

        protected override Task RunAsync(string id, CancellationToken cancellationToken)
        {
            Ran.TrySetResult(id);
            return Task.CompletedTask;
        }

        protected override Task RenewAsync(string id, WorkLease lease, CancellationToken cancellationToken) => Task.CompletedTask;

        protected override Task EndExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) => Task.CompletedTask;

        protected override Task<bool> StillExistsAsync(string id, CancellationToken cancellationToken) => Task.FromResult(true);
    }

    [Fact]
    public async Task AFailedClaimIsRetriedAfterAPauseAndTheWorkerGoesOn()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var worker = new FlakyStoreWorker(clock, failures: 2);
        await worker.StartAsync(CancellationToken.None);
        await clock.AdvanceUntilAsync(() => Task.FromResult(worker.Ran.Task.IsCompleted), TimeSpan.FromSeconds(30));
        Assert.Equal("item-1", await worker.Ran.Task);
        Assert.True(worker.Claims >= 3);
        Assert.False(worker.ExecuteTask!.IsCompleted);
        await worker.StopAsync(CancellationToken.None);
    }
}
