using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using Cray.Ims.Model;
using Cray.Platform.Storage;
using Cray.Platform.Work;

namespace Cray.Ims.RemoteBuildNodes;

/// <summary>
/// What a running ims-worker says of itself in the store, renewed with its leases: the API's
/// remote-build-node status is read from it, and a worker starting under a name that a live
/// worker already uses is refused by it.
/// </summary>
public sealed record WorkerHeartbeat(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("process")] ProcessIdentity Process,
    [property: JsonPropertyName("architectures")] IReadOnlyList<string> Architectures,
    [property: JsonPropertyName("slots")] int Slots,
    [property: JsonPropertyName("running_jobs")] int RunningJobs,
    [property: JsonPropertyName("started")] DateTimeOffset Started,
    [property: JsonPropertyName("seen")] DateTimeOffset Seen,
    [property: JsonPropertyName("expires")] DateTimeOffset Expires)
{
    public const string Collection = "ims.workers";

    public bool IsLive(DateTimeOffset now) => Expires > now;

    public bool Runs(string architecture) => Architectures.Contains(architecture);

    /// <summary>
    /// Why a worker may not start under <paramref name="name"/>: a live worker already uses it, and
    /// two would end each other's jobs as their own crash leftovers. Null when it may (no namesake,
    /// one whose heartbeat expired, or this machine's earlier run that is no longer running).
    /// </summary>
    public static async Task<string?> NamesakeProblemAsync(IRecordStore store, string name, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var existing = await store.GetAsync<WorkerHeartbeat>(Collection, name, cancellationToken);
        if (existing is null || !existing.IsLive(now) || existing.Process == ProcessIdentity.Current()
            || (existing.Process.IsOnThisMachine() && !existing.Process.IsRunningHere()))
        {
            return null;
        }
        var where = existing.Process.IsOnThisMachine() ? $"process {existing.Process.ProcessId} on this machine" : "on another machine";
        return $"another ims-worker named {name} is live ({where}, last seen {existing.Seen:yyyy-MM-ddTHH:mm:ssZ}); give this server its own --worker-name, "
            + $"or, if that worker is gone, start again after {existing.Expires:yyyy-MM-ddTHH:mm:ssZ}";
    }
}

/// <summary>The architectures a worker builds for: its machine's own unless told otherwise (an emulating host can add others).</summary>
public static class WorkerArchitectures
{
    public static string OfThisMachine() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => Architectures.Aarch64,
        _ => Architectures.X86_64,
    };

    /// <summary>A comma list of architectures, each one IMS knows; null when it is not one.</summary>
    public static IReadOnlyList<string>? Parse(string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        return names.Count > 0 && names.All(Architectures.All.Contains) ? names : null;
    }
}
