using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Cfs.Sessions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cray.Cfs.Runner;

/// <summary>
/// The session_ttl sweep: every few minutes, complete sessions that started longer ago than the
/// option allows are deleted (running ones never are; "" turns the sweep off), as the reference does.
/// </summary>
public sealed class SessionTtlSweeper(SessionService sessions, OptionsService options, TimeProvider clock, ILogger<SessionTtlSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var deleted = await SweepAsync(stoppingToken);
                if (deleted.Count > 0)
                {
                    logger.LogInformation("session_ttl: deleted {Count} complete sessions", deleted.Count);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogError(exception, "The session_ttl sweep failed");
            }
            await Task.Delay(Interval, clock, stoppingToken);
        }
    }

    /// <summary>Deletes complete sessions older than session_ttl (counted from their start), logs included; returns their names.</summary>
    public async Task<List<string>> SweepAsync(CancellationToken cancellationToken)
    {
        if (OptionsService.DurationOf(await options.GetAsync(cancellationToken), "session_ttl") is not { } ttl)
        {
            return [];
        }
        return await sessions.DeleteManyAsync(new SessionFilter(SessionStates.Complete, null, null, ttl, null, null), cancellationToken);
    }
}
