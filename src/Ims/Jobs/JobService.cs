using Cray.Artifacts;
using Cray.Ims.Manifests;
using Cray.Ims.Model;
using Cray.Ims.Validation;
using Cray.Platform;
using Cray.Platform.Processes;
using Cray.Platform.Storage;

namespace Cray.Ims.Jobs;

/// <summary>The jobs API's domain: create (with the reference's checks in order), read, patch and delete jobs.</summary>
public sealed class JobService(
    IRecordStore store,
    IArtifactStore artifacts,
    ImsWorkerOptions options,
    JobControl control,
    JobLogs logs,
    IProcessRunner runner,
    TimeProvider clock)
{
    public const string Collection = "ims.jobs";

    private readonly ManifestReader manifests = new(artifacts);

    public async Task<IReadOnlyList<Job>> ListAsync(CancellationToken cancellationToken)
        => (await store.ListAsync<JobDocument>(Collection, cancellationToken)).Select(document => document.Job).ToList();

    public async Task<JobDocument> GetDocumentAsync(string id, CancellationToken cancellationToken)
        => await store.GetAsync<JobDocument>(Collection, id, cancellationToken) ?? throw ImsProblems.NotFound();

    public async Task<Job> GetAsync(string id, CancellationToken cancellationToken) => (await GetDocumentAsync(id, cancellationToken)).Job;

    public async Task<Job> CreateAsync(JobCreate request, CancellationToken cancellationToken)
    {
        if (request.JobType == JobTypes.Create)
        {
            throw ImsProblems.BadRequest(
                "Jobs of type 'create' (building an image from a recipe) are not supported by this IMS yet; only 'customize' jobs are.");
        }
        var containers = request.SshContainers ?? [new SshContainerRequest("customize", Jail: false)];
        if (containers.Count > 1)
        {
            throw ImsProblems.BadRequest("Only one SSH container is currently supported. Re-run the request with at most one ssh_containers entry.");
        }

        var image = await store.GetAsync<Image>(ImsCollections.Images, request.ArtifactId, cancellationToken)
            ?? throw ImsProblems.BadRequest($"Invalid artifact_id value in job request. No IMS image record found matching id={request.ArtifactId}.");
        if (image.Link is null)
        {
            throw ImsProblems.BadRequest($"The IMS image does not have an artifact_link for image_id={image.Id}.");
        }
        if (!ArtifactPath.TryParse(image.Link.Path, out var manifestBucket, out var manifestKey) || artifacts.Head(manifestBucket, manifestKey) is null)
        {
            throw ImsProblems.Unprocessable(ArtifactLinks.CannotValidate(image.Link.Path));
        }
        var manifest = manifests.TryRead(image.Link)
            ?? throw ImsProblems.Unprocessable($"The manifest {image.Link.Path} of image {image.Id} could not be read as JSON.");
        var rootFileSystems = manifest.Artifacts.Where(artifact => ArtifactTypes.IsRootFileSystem(artifact.Type)).ToList();
        if (manifest.Version != ImageManifest.CurrentVersion || rootFileSystems.Count != 1)
        {
            throw ImsProblems.BadRequest(
                $"The manifest of image {image.Id} must be version {ImageManifest.CurrentVersion} and list exactly one {ArtifactTypes.RootFileSystem} artifact.");
        }
        var rootfs = rootFileSystems[0];
        if (!ArtifactPath.TryParse(rootfs.Link.Path, out var rootfsBucket, out var rootfsKey) || artifacts.Head(rootfsBucket, rootfsKey) is not { } rootfsObject)
        {
            throw ImsProblems.Unprocessable(ArtifactLinks.CannotValidate(rootfs.Link.Path));
        }
        // As the reference: the object's md5sum metadata, else the manifest's md5.
        var md5 = rootfsObject.Metadata.TryGetValue("md5sum", out var stored) && stored.Length > 0 ? stored : rootfs.Md5;

        var publicKey = await store.GetAsync<PublicKey>(ImsCollections.PublicKeys, request.PublicKeyId, cancellationToken)
            ?? throw ImsProblems.BadRequest($"Invalid public_key_id value in job request. No IMS public-key record found matching id={request.PublicKeyId}.");

        var id = Guid.NewGuid().ToString();
        var kernel = request.KernelFileName ?? (image.Arch == Architectures.Aarch64 ? "Image" : "vmlinuz");
        if (image.Arch == Architectures.Aarch64 && kernel == "vmlinuz")
        {
            kernel = "Image";
        }
        var requireDkms = image.Arch == Architectures.Aarch64 || (request.RequireDkms ?? options.EnableDkmsByDefault);
        var job = new Job(
            Arch: image.Arch,
            ArtifactId: image.Id,
            BuildEnvSize: request.BuildEnvSize,
            Created: Timestamps.Format(clock.GetUtcNow()),
            EnableDebug: request.EnableDebug,
            Id: id,
            ImageRootArchiveName: request.ImageRootArchiveName,
            InitrdFileName: request.InitrdFileName,
            JobMemSize: request.JobMemSize,
            JobType: request.JobType,
            KernelFileName: kernel,
            KernelParametersFileName: request.KernelParametersFileName,
            KubernetesConfigmap: null,
            KubernetesJob: null,
            KubernetesNamespace: null,
            KubernetesPvc: null,
            KubernetesSecret: null,
            KubernetesService: null,
            PublicKeyId: publicKey.Id,
            RemoteBuildNode: "",
            RequireDkms: requireDkms,
            ResultantImageId: null,
            SshContainers: containers
                .Select(container => new SshContainer(SshContainer.Endpoints(options.SshAddress, null),
                    container.Jail ? null : new JobWorkspace(options.JobsDirectory, id).ImageRoot, container.Jail, container.Name, "pending"))
                .ToList(),
            Status: JobStatuses.Creating);
        var document = new JobDocument(job, publicKey.Key, md5, rootfs.Link.Path, image.Link.Path, Worker: null);
        await store.WriteAsync(RecordWrite.Insert(Collection, id, document), cancellationToken);
        logs.Append(id, $"Job created: customize image {image.Id} ({image.Name}) into '{job.ImageRootArchiveName}'.");
        control.NotifyCreated(id);
        return job;
    }

    /// <summary>No transition rules, as in the reference: an operator can set any status.</summary>
    public async Task<Job> PatchAsync(string id, JobPatch patch, CancellationToken cancellationToken)
    {
        var updated = await store.UpdateAsync<JobDocument>(Collection, id, document =>
        {
            var job = document.Job;
            if (patch.Status is not null)
            {
                job = job with { Status = patch.Status };
            }
            if (patch.SetsResultantImage)
            {
                job = job with { ResultantImageId = patch.ResultantImageId };
            }
            return document with { Job = job };
        }, cancellationToken) ?? throw ImsProblems.NotFound();
        if (patch.Status is not null)
        {
            logs.Append(id, $"Status set to {patch.Status} through the API.");
        }
        return updated.Job;
    }

    /// <summary>Stops the job wherever it is (sshd, mounts, packaging), removes its directory, record and log. Images are not touched.</summary>
    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var document = await GetDocumentAsync(id, cancellationToken);
        if (!await control.StopAsync(id, TimeSpan.FromMinutes(2)) && !JobStatuses.IsFinal(document.Job.Status))
        {
            // Not running in this process (a crash left it): clean up what it may have left.
            await new JobWorkspace(options.JobsDirectory, id).CleanupAsync(runner, line => logs.Append(id, line));
        }
        await store.WriteAsync(RecordWrite.Delete(Collection, id), cancellationToken);
        logs.Delete(id);
    }

    /// <summary>Deletes every job that matches all the filters; returns how many were deleted.</summary>
    public async Task<int> DeleteManyAsync(JobDeleteFilter filter, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var matching = (await ListAsync(cancellationToken))
            .Where(job => filter.Statuses.Count == 0 || filter.Statuses.Contains(job.Status))
            .Where(job => filter.JobType is null || job.JobType == filter.JobType)
            .Where(job => filter.OlderThan is null || Timestamps.Parse(job.Created) < now - filter.OlderThan)
            .ToList();
        foreach (var job in matching)
        {
            await DeleteAsync(job.Id, cancellationToken);
        }
        return matching.Count;
    }

}
