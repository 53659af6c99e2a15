using System.Text.Json.Nodes;
using Cray.Ims.Validation;
using Cray.Platform.Storage;
using Cray.Platform.Work;

namespace Cray.Ims.RemoteBuildNodes;

/// <summary>
/// The reference's remote build nodes, with this service's meaning: a node is a machine running an
/// ims-worker under that name (--worker-name). Registering one is the admin's list of the nodes
/// they expect; every live worker takes jobs of its architectures whether registered or not. The
/// status comes from the workers' heartbeats in the store.
/// </summary>
public sealed class RemoteBuildNodeService(IRecordStore store, TimeProvider clock)
{
    private static readonly string[] CreateFields = ["xname"];

    public const string PodmanNotUsed = "Not used: jobs run in the ims-worker's own sandbox (bubblewrap, sshd)";

    public static string ParseCreate(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        var errors = new FieldErrors();
        JsonFields.RejectUnknown(body, CreateFields, errors);
        var xname = JsonFields.RequiredNonBlank(body, "xname", errors);
        if (xname is not null && !LeaseSettings.IsValidWorkerName(xname))
        {
            errors.Add("xname", "Must be 1 to 63 letters, digits, '-', '.' or '_': the --worker-name of the ims-worker on that node.");
        }
        errors.ThrowIfAny();
        return xname!;
    }

    public Task<IReadOnlyList<RemoteBuildNode>> ListAsync(CancellationToken cancellationToken)
        => store.ListAsync<RemoteBuildNode>(RemoteBuildNode.Collection, cancellationToken);

    /// <summary>Registers a node; registering one twice answers as the first time did.</summary>
    public async Task<RemoteBuildNode> CreateAsync(string xname, CancellationToken cancellationToken)
    {
        var node = new RemoteBuildNode(xname);
        await store.WriteAsync(RecordWrite.Upsert(RemoteBuildNode.Collection, xname, node), cancellationToken);
        return node;
    }

    public async Task<RemoteBuildNode> GetAsync(string xname, CancellationToken cancellationToken)
        => await store.GetAsync<RemoteBuildNode>(RemoteBuildNode.Collection, xname, cancellationToken) ?? throw ImsProblems.NotFound();

    public async Task DeleteAsync(string xname, CancellationToken cancellationToken)
    {
        await GetAsync(xname, cancellationToken);
        await store.WriteAsync(RecordWrite.Delete(RemoteBuildNode.Collection, xname), cancellationToken);
    }

    public async Task DeleteAllAsync(CancellationToken cancellationToken)
    {
        var nodes = await ListAsync(cancellationToken);
        await store.WriteAsync(nodes.Select(node => RecordWrite.Delete(RemoteBuildNode.Collection, node.Xname)).ToList(), cancellationToken);
    }

    /// <summary>The registered nodes' status, then that of every live worker nobody registered: an admin sees every machine that takes jobs.</summary>
    public async Task<IReadOnlyList<RemoteBuildNodeStatus>> StatusListAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var heartbeats = (await store.ListAsync<WorkerHeartbeat>(WorkerHeartbeat.Collection, cancellationToken)).ToDictionary(heartbeat => heartbeat.Name);
        var registered = await ListAsync(cancellationToken);
        var names = registered.Select(node => node.Xname)
            .Concat(heartbeats.Values.Where(heartbeat => heartbeat.IsLive(now)).Select(heartbeat => heartbeat.Name))
            .Distinct(StringComparer.Ordinal);
        return names.Select(name => StatusOf(name, heartbeats.GetValueOrDefault(name), now)).ToList();
    }

    /// <summary>A registered node's status, or a live worker's; 404 for a name neither registered nor ever seen.</summary>
    public async Task<RemoteBuildNodeStatus> StatusAsync(string xname, CancellationToken cancellationToken)
    {
        var heartbeat = await store.GetAsync<WorkerHeartbeat>(WorkerHeartbeat.Collection, xname, cancellationToken);
        if (heartbeat is null && await store.GetAsync<RemoteBuildNode>(RemoteBuildNode.Collection, xname, cancellationToken) is null)
        {
            throw ImsProblems.NotFound();
        }
        return StatusOf(xname, heartbeat, clock.GetUtcNow());
    }

    private static RemoteBuildNodeStatus StatusOf(string name, WorkerHeartbeat? heartbeat, DateTimeOffset now)
    {
        if (heartbeat is null)
        {
            return new(name, $"No ims-worker named {name} has reported to this store", PodmanNotUsed, "unknown", -1, false);
        }
        var architectures = string.Join(",", heartbeat.Architectures);
        if (!heartbeat.IsLive(now))
        {
            return new(name, $"Not live: the ims-worker was last seen at {heartbeat.Seen:yyyy-MM-ddTHH:mm:ssZ}", PodmanNotUsed, architectures, -1, false);
        }
        var ago = Math.Max(0, (int)(now - heartbeat.Seen).TotalSeconds);
        return new(name, $"Live: the ims-worker reported {ago} s ago ({heartbeat.RunningJobs} of {heartbeat.Slots} job slots in use)", PodmanNotUsed, architectures,
            heartbeat.RunningJobs, heartbeat.RunningJobs < heartbeat.Slots);
    }
}
