using System.Diagnostics.Metrics;

namespace Cray.Ims.Worker;

/// <summary>What the IMS worker measures, as .NET meters named as Prometheus metrics: cray-server exports them at /metrics.</summary>
public static class JobMetrics
{
    public const string MeterName = "Cray.Ims";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Seconds each job phase took (fetching_image, starting sshd, packaging_artifacts).</summary>
    public static readonly Histogram<double> PhaseDuration = Meter.CreateHistogram<double>("cray_ims_job_phase_duration_seconds", "s", "Time an IMS job spent in a phase");

    /// <summary>Jobs that ended, by final status (success, error, stopped).</summary>
    public static readonly Counter<long> Finished = Meter.CreateCounter<long>("cray_ims_jobs_finished_total", description: "IMS jobs that ended, by final status");
}
