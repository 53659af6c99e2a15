using System.Text.Json.Serialization;

namespace Cray.Ims.RemoteBuildNodes;

/// <summary>A registered remote build node: the name of a machine that runs an ims-worker under that name.</summary>
public sealed record RemoteBuildNode([property: JsonPropertyName("xname")] string Xname)
{
    public const string Collection = "ims.remote_build_nodes";
}

/// <summary>
/// The reference's status fields, measured from the worker's heartbeat instead of over SSH: a live
/// worker is "reachable"; podman is not used, jobs run in the worker's own sandbox.
/// </summary>
public sealed record RemoteBuildNodeStatus(
    [property: JsonPropertyName("xname")] string Xname,
    [property: JsonPropertyName("sshStatus")] string SshStatus,
    [property: JsonPropertyName("podmanStatus")] string PodmanStatus,
    [property: JsonPropertyName("nodeArch")] string NodeArch,
    [property: JsonPropertyName("numCurrentJobs")] int NumCurrentJobs,
    [property: JsonPropertyName("ableToRunJobs")] bool AbleToRunJobs);
