using System.Text.Json.Serialization;

namespace Cray.Platform.Work;

/// <summary>
/// A worker's hold on an item it runs: the worker's name, and until when the hold lasts unless the
/// worker renews it. An item whose lease has expired belongs to a worker that stopped (a crash, a
/// lost machine): any other worker may end it.
/// </summary>
public sealed record WorkLease(
    [property: JsonPropertyName("holder")] string Holder,
    [property: JsonPropertyName("expires")] DateTimeOffset Expires)
{
    public bool HasExpired(DateTimeOffset now) => Expires <= now;
}

/// <summary>How a worker names itself and how long its leases last.</summary>
public sealed record LeaseSettings(string WorkerName, TimeSpan Duration)
{
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(60);

    /// <summary>Three renewals per lease: one late renewal never loses it.</summary>
    public TimeSpan RenewInterval => Duration / 3;

    public WorkLease NewLease(DateTimeOffset now) => new(WorkerName, now + Duration);

    /// <summary>Worker names go into records and logs: a host-name-like word.</summary>
    public static bool IsValidWorkerName(string name)
        => name.Length is > 0 and <= 63 && name.All(character => char.IsAsciiLetterOrDigit(character) || character is '-' or '.' or '_');
}
