using Cray.Artifacts;
using Cray.Ims.Manifests;
using Cray.Ims.Model;
using Cray.Ims.Validation;
using Cray.Platform;
using Cray.Platform.Storage;
using Cray.Processes;

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

    /// <summary>How long a read may wait for a job's status at most.</summary>
    public static readonly TimeSpan LongestWait = TimeSpan.FromMinutes(5);

    // Writers on other machines do not wake a waiter, so the record is read again at least this often.
    private static readonly TimeSpan RereadInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The job once its status is one of <paramref name="statuses"/>, or as it is when
    /// <paramref name="timeout"/> runs out: one request instead of a poll loop for whoever waits on a job.
    /// </summary>
    public async Task<Job> WaitForStatusAsync(string id, IReadOnlySet<string> statuses, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + timeout;
        while (true)
        {
            var changed = store.NextChangeAsync(Collection);
            var job = await GetAsync(id, cancellationToken);
            var remaining = deadline - clock.GetUtcNow();
            if (statuses.Contains(job.Status) || remaining <= TimeSpan.Zero)
            {
                return job;
            }
            await Task.WhenAny(changed, Task.Delay(remaining < RereadInterval ? remaining : RereadInterval, clock, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public Task<Job> CreateAsync(JobCreate request, CancellationToken cancellationToken)
        => request.JobType == JobTypes.Create ? CreateBuildAsync(request, cancellationToken) : CreateCustomizeAsync(request, cancellationToken);

    private async Task<Job> CreateCustomizeAsync(JobCreate request, CancellationToken cancellationToken)
    {
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
        if (!ArtifactPath.TryParse(image.Link.Path, out var manifestBucket, out var manifestKey) || await artifacts.HeadAsync(manifestBucket, manifestKey, cancellationToken) is null)
        {
            throw ImsProblems.Unprocessable(ArtifactLinks.CannotValidate(image.Link.Path));
        }
        var manifest = await manifests.TryReadAsync(image.Link, cancellationToken)
            ?? throw ImsProblems.Unprocessable($"The manifest {image.Link.Path} of image {image.Id} could not be read as JSON.");
        var rootFileSystems = manifest.Artifacts.Where(artifact => ArtifactTypes.IsRootFileSystem(artifact.Type)).ToList();
        if (manifest.Version != ImageManifest.CurrentVersion || rootFileSystems.Count != 1)
        {
            throw ImsProblems.BadRequest(
                $"The manifest of image {image.Id} must be version {ImageManifest.CurrentVersion} and list exactly one {ArtifactTypes.RootFileSystem} artifact.");
        }
        var rootfs = rootFileSystems[0];
        if (!ArtifactPath.TryParse(rootfs.Link.Path, out var rootfsBucket, out var rootfsKey) || await artifacts.HeadAsync(rootfsBucket, rootfsKey, cancellationToken) is not { } rootfsObject)
        {
            throw ImsProblems.Unprocessable(ArtifactLinks.CannotValidate(rootfs.Link.Path));
        }
        // As the reference: the object's md5sum metadata, else the manifest's md5.
        var md5 = rootfsObject.Metadata.TryGetValue(ArtifactObject.Md5MetadataName, out var stored) && stored.Length > 0 ? stored : rootfs.Md5;
        var publicKey = await PublicKeyAsync(request, cancellationToken);

        var id = Guid.NewGuid().ToString();
        var requireDkms = image.Arch == Architectures.Aarch64 || (request.RequireDkms ?? options.EnableDkmsByDefault);
        var job = NewJob(request, id, image.Id, image.Arch, requireDkms, publicKey, containers
            .Select(container => new SshContainer(SshContainer.Endpoints(options.SshAddress, SshEndpoint.NotListening),
                container.Jail ? null : new JobWorkspace(options.JobsDirectory, id).ImageRoot, container.Jail, container.Name, "pending"))
            .ToList()) with
        {
            Layers = request.BaseLayers is { Count: > 0 } baseLayers
                ? baseLayers.Select((layer, index) => new JobLayer(index + 1, JobLayerStates.Pending, layer.Path, layer.Md5)).ToList()
                : null,
        };
        await StoreAsync(new JobDocument(job, publicKey.Key, md5, rootfs.Link.Path, image.Link.Path, Worker: null),
            $"Job created: customize image {image.Id} ({image.Name}) into '{job.ImageRootArchiveName}'.", cancellationToken);
        return job;
    }

    /// <summary>A create job: build an image from a kiwi-ng recipe. Its only SSH container is the debug shell of enable_debug.</summary>
    private async Task<Job> CreateBuildAsync(JobCreate request, CancellationToken cancellationToken)
    {
        if (request.SshContainers is not null)
        {
            throw ImsProblems.BadRequest("ssh_containers cannot be specified for a create job; set enable_debug to get a debug shell when the build fails.");
        }
        var recipe = await store.GetAsync<Recipe>(ImsCollections.Recipes, request.ArtifactId, cancellationToken)
            ?? throw ImsProblems.BadRequest($"Invalid artifact_id value in job request. No IMS recipe record found matching id={request.ArtifactId}.");
        if (recipe.Link is null)
        {
            throw ImsProblems.BadRequest($"The IMS recipe does not have an artifact_link for recipe_id={recipe.Id}.");
        }
        if (recipe.RecipeType != RecipeTypes.KiwiNg)
        {
            throw ImsProblems.BadRequest($"Recipe {recipe.Id} is a '{recipe.RecipeType}' recipe; only '{RecipeTypes.KiwiNg}' recipes can be built.");
        }
        if (!ArtifactPath.TryParse(recipe.Link.Path, out var bucket, out var key) || await artifacts.HeadAsync(bucket, key, cancellationToken) is not { } archive)
        {
            throw ImsProblems.Unprocessable(ArtifactLinks.CannotValidate(recipe.Link.Path));
        }
        var md5 = archive.Metadata.TryGetValue(ArtifactObject.Md5MetadataName, out var stored) && stored.Length > 0 ? stored : "";
        var publicKey = await PublicKeyAsync(request, cancellationToken);

        var id = Guid.NewGuid().ToString();
        var requireDkms = recipe.Arch == Architectures.Aarch64 || (request.RequireDkms ?? recipe.RequireDkms);
        List<SshContainer>? containers = request.EnableDebug
            ? [new SshContainer(SshContainer.Endpoints(options.SshAddress, SshEndpoint.NotListening), new JobWorkspace(options.JobsDirectory, id).ImageRoot, false, "debug", "pending")]
            : null;
        var job = NewJob(request, id, recipe.Id, recipe.Arch, requireDkms, publicKey, containers);
        await StoreAsync(new JobDocument(job, publicKey.Key, "", "", "", Worker: null, new JobRecipe(recipe.Link.Path, md5, recipe.TemplateDictionary)),
            $"Job created: build recipe {recipe.Id} ({recipe.Name}) into '{job.ImageRootArchiveName}'.", cancellationToken);
        return job;
    }

    private async Task<PublicKey> PublicKeyAsync(JobCreate request, CancellationToken cancellationToken)
        => await store.GetAsync<PublicKey>(ImsCollections.PublicKeys, request.PublicKeyId, cancellationToken)
            ?? throw ImsProblems.BadRequest($"Invalid public_key_id value in job request. No IMS public-key record found matching id={request.PublicKeyId}.");

    private Job NewJob(JobCreate request, string id, string artifactId, string arch, bool requireDkms, PublicKey publicKey, List<SshContainer>? containers)
    {
        var kernel = request.KernelFileName ?? (arch == Architectures.Aarch64 ? "Image" : "vmlinuz");
        if (arch == Architectures.Aarch64 && kernel == "vmlinuz")
        {
            kernel = "Image";
        }
        return new Job(
            Arch: arch,
            ArtifactId: artifactId,
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
            SshContainers: containers,
            Status: JobStatuses.Creating);
    }

    private async Task StoreAsync(JobDocument document, string logLine, CancellationToken cancellationToken)
    {
        await store.WriteAsync(RecordWrite.Insert(Collection, document.Job.Id, document), cancellationToken);
        logs.Append(document.Job.Id, logLine);
    }

    /// <summary>No transition rules, as in the reference: an operator can set any status but ours, sealing_layer, which only a seal request sets.</summary>
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

    /// <summary>
    /// Ours: asks the worker to seal the layer the user worked on and serve the jail again on a fresh
    /// one (status sealing_layer, then waiting_on_user again); the sealed layer is packed and stored
    /// at <see cref="LayerSeal.StorePath"/> when one is given. Only a customize job waiting on the user can.
    /// </summary>
    public async Task<Job> SealLayerAsync(string id, LayerSeal seal, CancellationToken cancellationToken)
    {
        // A layer is never stored among IMS's own objects, nor over any other object: each seal names a new one.
        if (seal.StorePath is not null && ArtifactPath.TryParse(seal.StorePath, out var bucket, out var key))
        {
            if (ImsServices.Buckets.Contains(bucket))
            {
                throw ImsProblems.Unprocessable($"store_path {seal.StorePath} is in IMS's own bucket {bucket}; layers are stored elsewhere (CFS uses cfs-layer-cache).");
            }
            if (await artifacts.HeadAsync(bucket, key, cancellationToken) is not null)
            {
                throw new Platform.Problems.ProblemException(Microsoft.AspNetCore.Http.StatusCodes.Status409Conflict,
                    $"An object exists at {seal.StorePath}: a sealed layer is stored only at a path nothing holds.");
            }
        }
        string? refusal = null;
        var updated = await store.UpdateAsync<JobDocument>(Collection, id, document =>
        {
            var job = document.Job;
            refusal = job.JobType != JobTypes.Customize ? "Only a customize job has layers."
                : job.Status != JobStatuses.WaitingOnUser ? $"The job is {job.Status}: a layer can be sealed only while the job is waiting_on_user."
                : job.Layers?.Count >= JobRequests.MostLayers ? $"The job has {job.Layers.Count} layers, the most a job stacks."
                : null;
            if (refusal is not null)
            {
                return null;
            }
            var layers = job.Layers ?? [];
            var sealing = new JobLayer(layers.Count + 1, JobLayerStates.Sealing, seal.StorePath, null);
            return document with { Job = job with { Status = JobStatuses.SealingLayer, Layers = [.. layers, sealing] } };
        }, cancellationToken);
        if (refusal is not null)
        {
            throw new Platform.Problems.ProblemException(Microsoft.AspNetCore.Http.StatusCodes.Status409Conflict, refusal);
        }
        var job = updated?.Job ?? throw ImsProblems.NotFound();
        logs.Append(id, $"Layer {job.Layers!.Count} is to be sealed{(seal.StorePath is null ? "" : $" and stored at {seal.StorePath}")} (asked through the API).");
        return job;
    }

    /// <summary>Stops the job wherever it is (sshd, mounts, packaging), removes its directory, record and log. Images are not touched.</summary>
    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var document = await GetDocumentAsync(id, cancellationToken);
        if (!await control.StopAsync(id, TimeSpan.FromMinutes(2)) && !JobStatuses.IsFinal(document.Job.Status) && document.Worker == options.Leases.WorkerName)
        {
            // This machine's worker held it but does not run it (a crash left it): clean up what it may have left.
            // Another machine's worker sees the record gone and stops the job itself.
            await new JobWorkspace(options.JobsDirectory, id).CleanupAsync(runner, line => logs.Append(id, line));
        }
        await store.WriteAsync(RecordWrite.Delete(Collection, id), cancellationToken);
        await logs.DeleteAsync(id, cancellationToken);
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
