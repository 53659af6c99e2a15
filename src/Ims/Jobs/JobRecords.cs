using System.Text.Json;
using System.Text.Json.Serialization;
using Cray.Ims.Model;
using Cray.Platform.Storage;

namespace Cray.Ims.Jobs;

public static class JobStatuses
{
    public const string Creating = "creating";
    public const string FetchingImage = "fetching_image";
    public const string FetchingRecipe = "fetching_recipe";
    public const string WaitingForRepos = "waiting_for_repos";
    public const string BuildingImage = "building_image";
    public const string PackagingArtifacts = "packaging_artifacts";
    public const string WaitingOnUser = "waiting_on_user";

    /// <summary>Ours: the layer the user worked on is being sealed and the jail re-served on a fresh one (POST /jobs/{id}/layers).</summary>
    public const string SealingLayer = "sealing_layer";
    public const string Error = "error";
    public const string Success = "success";

    public static readonly string[] All =
        [Creating, FetchingImage, FetchingRecipe, WaitingForRepos, BuildingImage, PackagingArtifacts, WaitingOnUser, SealingLayer, Error, Success];

    public static bool IsFinal(string status) => status is Error or Success;
}

public static class JobTypes
{
    public const string Create = "create";
    public const string Customize = "customize";

    public static readonly string[] All = [Create, Customize];
}

/// <summary>
/// Where a job's sshd is reached. The reference's schema makes the port an integer (its pods always
/// listen on 22); here sshd takes a free port when it starts, on whichever worker runs the job, so
/// the port is 0 until sshd listens, and stays once the job has ended.
/// </summary>
public sealed record SshEndpoint(
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("port"), JsonConverter(typeof(SshEndpoint.PortConverter))] int Port)
{
    public const int NotListening = 0;

    /// <summary>Reads the null that records written before ports were always integers hold as <see cref="NotListening"/>.</summary>
    internal sealed class PortConverter : JsonConverter<int>
    {
        public override bool HandleNull => true;

        public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            => reader.TokenType == JsonTokenType.Null ? NotListening : reader.GetInt32();

        public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
    }
}

/// <summary>
/// One SSH server of a job. <c>connection_info</c> always has the reference's two keys; here both
/// name the worker's real SSH address and port (0 until sshd listens). Without a
/// jail the user lands on the worker host, so <c>image_root</c> (ours) says where the image root is;
/// it is null for a jail, where the image root is /.
/// </summary>
public sealed record SshContainer(
    [property: JsonPropertyName("connection_info")] IReadOnlyDictionary<string, SshEndpoint> ConnectionInfo,
    [property: JsonPropertyName("image_root")] string? ImageRoot,
    [property: JsonPropertyName("jail")] bool Jail,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] string Status)
{
    public const string ClusterLocal = "cluster.local";
    public const string CustomerAccess = "customer_access";

    public static IReadOnlyDictionary<string, SshEndpoint> Endpoints(string host, int port) => new Dictionary<string, SshEndpoint>
    {
        [ClusterLocal] = new(host, port),
        [CustomerAccess] = new(host, port),
    };
}

/// <summary>What happened to one layer of a layered customize job (ours; see <see cref="JobLayer"/>).</summary>
public static class JobLayerStates
{
    /// <summary>Asked for at creation, not yet fetched. Layers that cannot be restored (and those above them) leave the list.</summary>
    public const string Pending = "pending";

    /// <summary>Fetched (md5 checked) and mounted under the jail's image root.</summary>
    public const string Restored = "restored";

    /// <summary>Asked to be sealed; the jail is down until the fresh layer is served.</summary>
    public const string Sealing = "sealing";

    /// <summary>Sealed: below the fresh layer, kept only in the job.</summary>
    public const string Sealed = "sealed";

    /// <summary>Sealed and being packed and stored at its path.</summary>
    public const string Storing = "storing";

    public const string Stored = "stored";

    public const string StoreFailed = "store_failed";

}

/// <summary>
/// One layer below the jail's current one, lowest first (ours). A layered customize job stacks
/// the changes of each step on their own overlay layer: layers restored at creation from packed
/// layers (<c>base_layers</c>), then each layer the user sealed (POST /jobs/{id}/layers), which the
/// job packs as a squashfs and stores at <c>path</c> when asked to, so that a later job can restore it.
/// </summary>
public sealed record JobLayer(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("path")] string? Path,
    [property: JsonPropertyName("md5")] string? Md5,
    [property: JsonPropertyName("size")] long? Size = null,
    [property: JsonPropertyName("message")] string? Message = null);

/// <summary>The job as the API shows it: all 24 fields of the reference, always present, null when unset; <c>layers</c> (ours) only for a layered job.</summary>
public sealed record Job(
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("artifact_id")] string ArtifactId,
    [property: JsonPropertyName("build_env_size")] int BuildEnvSize,
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("enable_debug")] bool EnableDebug,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("image_root_archive_name")] string ImageRootArchiveName,
    [property: JsonPropertyName("initrd_file_name")] string InitrdFileName,
    [property: JsonPropertyName("job_mem_size")] int JobMemSize,
    [property: JsonPropertyName("job_type")] string JobType,
    [property: JsonPropertyName("kernel_file_name")] string KernelFileName,
    [property: JsonPropertyName("kernel_parameters_file_name")] string KernelParametersFileName,
    [property: JsonPropertyName("kubernetes_configmap")] string? KubernetesConfigmap,
    [property: JsonPropertyName("kubernetes_job")] string? KubernetesJob,
    [property: JsonPropertyName("kubernetes_namespace")] string? KubernetesNamespace,
    [property: JsonPropertyName("kubernetes_pvc")] string? KubernetesPvc,
    [property: JsonPropertyName("kubernetes_secret")] string? KubernetesSecret,
    [property: JsonPropertyName("kubernetes_service")] string? KubernetesService,
    [property: JsonPropertyName("public_key_id")] string PublicKeyId,
    [property: JsonPropertyName("remote_build_node")] string RemoteBuildNode,
    [property: JsonPropertyName("require_dkms")] bool RequireDkms,
    [property: JsonPropertyName("resultant_image_id")] string? ResultantImageId,
    [property: JsonPropertyName("ssh_containers")] IReadOnlyList<SshContainer>? SshContainers,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("layers"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<JobLayer>? Layers = null);

/// <summary>
/// What the store keeps for a job: the public record plus what only the worker needs. The public
/// key is copied in at creation because CFS deletes the key record right after launching the job.
/// </summary>
public sealed record JobDocument(
    [property: JsonPropertyName("job")] Job Job,
    [property: JsonPropertyName("authorized_key")] string AuthorizedKey,
    [property: JsonPropertyName("rootfs_md5")] string RootfsMd5,
    [property: JsonPropertyName("rootfs_path")] string RootfsPath,
    [property: JsonPropertyName("source_manifest_path")] string SourceManifestPath,
    [property: JsonPropertyName("worker")] string? Worker,
    [property: JsonPropertyName("recipe")] JobRecipe? Recipe = null,
    [property: JsonPropertyName("pending_image_id")] string? PendingImageId = null,
    [property: JsonPropertyName("lease_expires")] DateTimeOffset? LeaseExpires = null,
    [property: JsonPropertyName("waiting_reason")] string? WaitingReason = null) : IStagedRecord
{
    /// <summary>Waiting for a worker until one claims it, running until it ends.</summary>
    [JsonIgnore]
    public string? Stage => Worker is null
        ? Job.Status == JobStatuses.Creating ? RecordStages.Waiting : null
        : JobStatuses.IsFinal(Job.Status) ? null : RecordStages.Running;
}

/// <summary>What a create job builds from, copied at creation: the recipe may change or go while the job runs.</summary>
public sealed record JobRecipe(
    [property: JsonPropertyName("archive_path")] string ArchivePath,
    [property: JsonPropertyName("md5")] string Md5,
    [property: JsonPropertyName("template_dictionary")] IReadOnlyList<TemplateDictionaryEntry> TemplateDictionary);
