using System.Diagnostics.Metrics;

namespace Cray.Cfs.Runner;

/// <summary>What the CFS runner measures, as .NET meters named as Prometheus metrics: cray-server exports them at /metrics.</summary>
public static class SessionMetrics
{
    public const string MeterName = "Cray.Cfs";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Seconds each session phase took; every layer counts as the phase "layer".</summary>
    public static readonly Histogram<double> PhaseDuration = Meter.CreateHistogram<double>("cray_cfs_session_phase_duration_seconds", "s", "Time a CFS session spent in a phase");

    /// <summary>Sessions that completed, by succeeded (true or false).</summary>
    public static readonly Counter<long> Completed = Meter.CreateCounter<long>("cray_cfs_sessions_completed_total", description: "CFS sessions that completed, by result");
}
