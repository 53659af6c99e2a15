using Cray.Cfs.Runner;
using Cray.Cfs.Sessions;
using Cray.Ims.Images;
using Cray.Ims.Jobs;
using Cray.Ims.Worker;
using Prometheus;

namespace Cray.Server;

/// <summary>
/// <c>/metrics</c> in the Prometheus text format, from a registry of this server's own (tests run
/// several servers in one process): HTTP requests by endpoint, the .NET runtime and process, the
/// meters the IMS worker and CFS runner publish, and gauges of what the store holds, read at each scrape.
/// </summary>
public static class ServerMetrics
{
    public static void UseServerMetrics(this WebApplication app)
    {
        // Nothing exports the library's static default registry: its listeners would only cost CPU.
        Metrics.SuppressDefaultMetrics();
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        DotNetStats.Register(registry);
        app.Lifetime.ApplicationStopped.Register(new MeterBridge(factory, new HashSet<string> { JobMetrics.MeterName, SessionMetrics.MeterName }).Dispose);

        var images = factory.CreateGauge("cray_ims_images", "IMS images (not deleted)");
        var jobs = factory.CreateGauge("cray_ims_jobs", "IMS jobs by status", "status");
        var sessions = factory.CreateGauge("cray_cfs_sessions", "CFS sessions by status and result", "status", "succeeded");
        // Singletons: resolved once, not at every scrape.
        var imageService = app.Services.GetRequiredService<ImageService>();
        var jobService = app.Services.GetRequiredService<JobService>();
        var sessionService = app.Services.GetRequiredService<SessionService>();
        registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            images.Set((await imageService.ListAsync(cancellationToken)).Count);
            SetCounts(jobs, (await jobService.ListAsync(cancellationToken)).Select(job => new[] { job.Status }));
            var sessionStates = new List<string[]>();
            await foreach (var session in sessionService.ScanAsync(null, cancellationToken))
            {
                sessionStates.Add([session.Status.Session.Status, session.Status.Session.Succeeded]);
            }
            SetCounts(sessions, sessionStates);
        });

        app.UseHttpMetrics(options => options.SetMetricFactory(factory));
        app.MapMetrics("/metrics", registry);
    }

    /// <summary>One series per label combination present now; combinations that emptied drop to 0 rather than vanish.</summary>
    private static void SetCounts(Gauge gauge, IEnumerable<string[]> labelSets)
    {
        var counts = labelSets.GroupBy(labels => string.Join('\0', labels)).ToDictionary(group => group.Key, group => group.Count());
        foreach (var labels in gauge.GetAllLabelValues())
        {
            gauge.WithLabels(labels).Set(counts.GetValueOrDefault(string.Join('\0', labels)));
        }
        foreach (var (key, count) in counts)
        {
            gauge.WithLabels(key.Split('\0')).Set(count);
        }
    }
}
