using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Prometheus;

namespace Cray.Server;

/// <summary>
/// Forwards the measurements of the IMS worker's and CFS runner's .NET meters into Prometheus
/// metrics of the same names. (prometheus-net's own MeterAdapter connects to the instruments here
/// but exports no values on .NET 10.) Counters and histograms are all the modules publish; each
/// instrument always carries the same tag names, which become the metric's label names.
/// </summary>
public sealed class MeterBridge : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly IMetricFactory factory;
    private readonly IReadOnlySet<string> meterNames;
    private readonly ConcurrentDictionary<Instrument, Collector> metrics = new();

    public MeterBridge(IMetricFactory factory, IReadOnlySet<string> meterNames)
    {
        this.factory = factory;
        this.meterNames = meterNames;
        listener.InstrumentPublished = (instrument, meterListener) =>
        {
            if (meterNames.Contains(instrument.Meter.Name))
            {
                meterListener.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labelNames = new string[tags.Length];
        var labelValues = new string[tags.Length];
        for (var index = 0; index < tags.Length; index++)
        {
            labelNames[index] = tags[index].Key;
            labelValues[index] = tags[index].Value?.ToString() ?? "";
        }
        var metric = metrics.GetOrAdd(instrument, _ => instrument.GetType().GetGenericTypeDefinition() == typeof(Histogram<>)
            ? factory.CreateHistogram(instrument.Name, instrument.Description ?? instrument.Name, labelNames,
                new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.1, 2, 16) })
            : factory.CreateCounter(instrument.Name, instrument.Description ?? instrument.Name, labelNames));
        switch (metric)
        {
            case Histogram histogram:
                histogram.WithLabels(labelValues).Observe(value);
                break;
            case Counter counter:
                counter.WithLabels(labelValues).Inc(value);
                break;
        }
    }

    public void Dispose() => listener.Dispose();
}
