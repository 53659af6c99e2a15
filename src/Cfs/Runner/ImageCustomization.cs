using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Cfs.Sessions;
using Cray.Processes;

namespace Cray.Cfs.Runner;

/// <summary>
/// The IMS side of an image session (cfs.md §4.4), through IMS's HTTP API like any client: wait for
/// the images, one jailed customize job per image, SSH readiness, and the teardown that signals the
/// jails and records each result as an <c>ims_customized_image</c> artifact.
/// </summary>
public sealed class ImageCustomization(SessionService sessions, ImsClient ims, CfsRunnerOptions runnerOptions, IProcessRunner runner, TimeProvider clock)
{
    public const string ArtifactType = "ims_customized_image";

    /// <summary>How long one request waits in IMS for a job's status (well inside the IMS client's timeout).</summary>
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The seed: a session naming an image IMS does not know "will not fail and will instead wait".
    /// It waits, saying for what, until the image exists with its files, or until image_wait_timeout.
    /// </summary>
    public async Task<Dictionary<string, JsonObject>> WaitForImagesAsync(List<string> imageIds, JsonObject settings, Action<string> log, CancellationToken cancellationToken)
    {
        var limit = OptionsService.DurationOf(settings, "image_wait_timeout");
        var deadline = limit is null ? DateTimeOffset.MaxValue : clock.GetUtcNow() + limit.Value;
        var found = new Dictionary<string, JsonObject>(StringComparer.OrdinalIgnoreCase);
        var reported = new HashSet<string>();
        while (true)
        {
            foreach (var imageId in imageIds.Where(id => !found.ContainsKey(id)))
            {
                var image = await ims.GetImageAsync(imageId, cancellationToken);
                if (image is not null && image["link"] is JsonObject)
                {
                    found[imageId] = image;
                    if (reported.Contains(imageId))
                    {
                        log($"Image {imageId} is now available in IMS.");
                    }
                }
                else if (reported.Add(imageId))
                {
                    log(image is null
                        ? $"Waiting for image {imageId}: IMS does not know it yet (waiting up to {limit?.ToString() ?? "no limit"}, the image_wait_timeout option)."
                        : $"Waiting for image {imageId}: IMS has its record but no artifacts yet (waiting up to {limit?.ToString() ?? "no limit"}).");
                }
            }
            if (found.Count == imageIds.Count)
            {
                return found;
            }
            if (clock.GetUtcNow() > deadline)
            {
                throw new SessionFailedException(
                    $"These images were not available in IMS within the image_wait_timeout option ({limit}): {string.Join(", ", imageIds.Where(id => !found.ContainsKey(id)))}.");
            }
            await Task.Delay(TimeSpan.FromSeconds(2), clock, cancellationToken);
        }
    }

    /// <summary>
    /// A fresh key pair, its public half registered in IMS, one jailed customize job per image, and
    /// a wait until every jail runs a command over SSH. The key record is deleted once the jobs hold it.
    /// </summary>
    /// <param name="layerPlans">Per image, the cached layers its job restores (when the layer cache has any).</param>
    public async Task StageAsync(SessionRecord session, IReadOnlyDictionary<string, JsonObject> images, bool requireDkms,
        IReadOnlyDictionary<string, ImageLayerPlan> layerPlans, SessionWorkspace workspace, Action<string> log, CancellationToken cancellationToken)
    {
        await runner.RunCheckedAsync(new ProcessRequest("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"cfs-{session.Name}", "-f", workspace.ImagePrivateKey])
        {
            Timeout = TimeSpan.FromMinutes(1),
        }, cancellationToken);
        workspace.PublicKeyId = await ims.CreatePublicKeyAsync($"cfs_{session.Name}", await File.ReadAllTextAsync(workspace.ImagePrivateKey + ".pub", cancellationToken), cancellationToken);
        foreach (var (imageId, image) in images)
        {
            var resultName = session.Target.ImageMap?.FirstOrDefault(mapping => string.Equals(mapping.SourceId, imageId, StringComparison.OrdinalIgnoreCase))?.ResultName
                ?? $"{image["name"]!.GetValue<string>()}_cfs_{session.Name}";
            var body = new JsonObject
            {
                ["job_type"] = "customize",
                ["artifact_id"] = image["id"]!.GetValue<string>(),
                ["public_key_id"] = workspace.PublicKeyId,
                ["image_root_archive_name"] = resultName,
                ["ssh_containers"] = new JsonArray(new JsonObject { ["name"] = session.Name, ["jail"] = true }),
            };
            if (requireDkms)
            {
                body["require_dkms"] = true;
            }
            if (layerPlans.TryGetValue(imageId, out var plan) && plan.Restore.Count > 0)
            {
                body["base_layers"] = new JsonArray(plan.Restore.Select(entry => (JsonNode?)new JsonObject { ["path"] = entry.Path, ["md5"] = entry.Md5 }).ToArray());
            }
            var job = await ims.CreateJobAsync(body, cancellationToken);
            var host = new ImageHost(imageId, job["id"]!.GetValue<string>(), resultName);
            workspace.Images.Add(host);
            log($"IMS job {host.JobId} customizes image {imageId} into '{resultName}'.");
            await sessions.UpdateAsync(session.Name, current => current with
            {
                Status = current.Status with { Session = current.Status.Session with { ImsJob = host.JobId } },
                ImsJobs = [.. current.ImsJobs ?? [], host.JobId],
            }, cancellationToken);
        }
        await Task.WhenAll(workspace.Images.Select(image => WaitUntilServedAsync(session.Name, image, workspace, log, cancellationToken)));
        // The jobs hold the key now; the reference deletes the record right after launching them.
        await ims.DeletePublicKeyAsync(workspace.PublicKeyId!, cancellationToken);
        workspace.PublicKeyId = null;
    }

    private async Task WaitUntilServedAsync(string sessionName, ImageHost image, SessionWorkspace workspace, Action<string> log, CancellationToken cancellationToken)
    {
        var job = await WaitForStatusAsync(image.JobId, ["waiting_on_user", "error", "success"], null, cancellationToken)
            ?? throw new SessionFailedException($"IMS job {image.JobId} disappeared.");
        var status = job["status"]?.GetValue<string>();
        if (status is "error" or "success")
        {
            throw new SessionFailedException($"IMS job {image.JobId} for image {image.ImageId} ended in {status} before it could be configured; see cray ims jobs logs {image.JobId}.");
        }
        ReadEndpoint(sessionName, image, job);
        image.RestoredLayers = (job["layers"] as JsonArray ?? []).Count(layer => layer?["status"]?.GetValue<string>() == "restored");
        // Readiness means a command runs, not just that the port answers.
        var deadline = clock.GetUtcNow() + runnerOptions.SshReadyTimeout;
        while (true)
        {
            var result = await SshAsync(image, workspace, "true", cancellationToken);
            if (result.Succeeded)
            {
                log($"Image {image.ImageId} is served by IMS job {image.JobId} at {image.Host}:{image.Port}; SSH runs commands.");
                return;
            }
            if (clock.GetUtcNow() > deadline)
            {
                throw new SessionFailedException($"SSH into IMS job {image.JobId} did not work within {runnerOptions.SshReadyTimeout}: {result.Output.Trim()}");
            }
            await Task.Delay(runnerOptions.PollInterval, clock, cancellationToken);
        }
    }

    private static void ReadEndpoint(string sessionName, ImageHost image, JsonObject job)
    {
        var containers = job["ssh_containers"] as JsonArray ?? [];
        var container = containers.FirstOrDefault(candidate => candidate?["name"]?.GetValue<string>() == sessionName) ?? containers.FirstOrDefault();
        var endpoint = container?["connection_info"]?["cluster.local"];
        image.Host = endpoint?["host"]?.GetValue<string>() ?? throw new SessionFailedException($"IMS job {image.JobId} has no SSH connection info.");
        // 0 (or null from an older server) means sshd is not listening.
        image.Port = endpoint["port"]?.GetValue<int>() is > 0 and var port ? port : throw new SessionFailedException($"IMS job {image.JobId} has no SSH port.");
    }

    /// <summary>
    /// Seals the layer the image's job holds (storing it at <paramref name="storePath"/> when given)
    /// and waits until the job serves the next one; its SSH port may have changed. Returns the
    /// sealed layer's index in the job, or null when IMS does not seal layers (an IMS without our
    /// extension), in which case nothing changed.
    /// </summary>
    public async Task<int?> SealLayerAsync(string sessionName, ImageHost image, string? storePath, CancellationToken cancellationToken)
    {
        if (await ims.SealLayerAsync(image.JobId, storePath, cancellationToken) is not { } sealing)
        {
            return null;
        }
        var index = (sealing["layers"] as JsonArray)?.LastOrDefault()?["index"]?.GetValue<int>()
            ?? throw new SessionFailedException($"IMS did not say which layer of job {image.JobId} it seals.");
        var job = await WaitForStatusAsync(image.JobId, ["waiting_on_user", "error", "success"], null, cancellationToken)
            ?? throw new SessionFailedException($"IMS job {image.JobId} disappeared.");
        if (job["status"]?.GetValue<string>() is var status && status != "waiting_on_user")
        {
            throw new SessionFailedException($"IMS job {image.JobId} for image {image.ImageId} ended in {status} while a layer was sealed; see cray ims jobs logs {image.JobId}.");
        }
        ReadEndpoint(sessionName, image, job);
        return index;
    }

    /// <summary>Writes a file into the image through its jail (root in the image, never a path on this host).</summary>
    public async Task WriteIntoImageAsync(ImageHost image, SessionWorkspace workspace, string path, string content, CancellationToken cancellationToken)
    {
        // Base64 is shell-safe on the remote command line; the directory is made as the image's root would.
        var encoded = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(content));
        var directory = path[..path.LastIndexOf('/')];
        var result = await SshAsync(image, workspace, $"mkdir -p {directory} && echo {encoded} | base64 -d > {path}.new && mv -f {path}.new {path}", cancellationToken);
        if (!result.Succeeded)
        {
            throw new SessionFailedException($"Could not write {path} into image {image.ImageId}: {result.Output.Trim()}");
        }
    }

    public static void DescribeDebugAccess(SessionWorkspace workspace, TimeSpan wait, Action<string> log)
    {
        foreach (var image in workspace.Images)
        {
            log($"debug_on_failure: image {image.ImageId} stays up for {wait}: ssh -i {workspace.ImagePrivateKey} -p {image.Port} root@{image.Host}");
        }
    }

    /// <summary>Touches complete (or failed) in every jail; on success waits for each result and records it as an artifact.</summary>
    public async Task<bool> TearDownAsync(string sessionName, bool ansibleSucceeded, SessionWorkspace workspace, Action<string> log, CancellationToken cancellationToken)
    {
        var signal = ansibleSucceeded ? "/tmp/complete" : "/tmp/failed";
        var outcomes = await Task.WhenAll(workspace.Images.Select(async image =>
        {
            var touched = await SshAsync(image, workspace, $"touch {signal}", cancellationToken);
            if (!touched.Succeeded && !await LeftWaitingAsync(image, cancellationToken))
            {
                log($"Could not signal IMS job {image.JobId} ({touched.Output.Trim()}); deleting it.");
                await ims.DeleteJobAsync(image.JobId, cancellationToken);
                return false;
            }
            var job = await WaitForStatusAsync(image.JobId, ["error", "success"], null, cancellationToken)
                ?? throw new SessionFailedException($"IMS job {image.JobId} disappeared.");
            image.FinalJob = job;
            var status = job["status"]?.GetValue<string>();
            var result = job["resultant_image_id"]?.GetValue<string>();
            if (ansibleSucceeded && !string.IsNullOrEmpty(result) && status == "success")
            {
                await sessions.UpdateAsync(sessionName, current => current with
                {
                    Status = current.Status with
                    {
                        Artifacts = current.Status.Artifacts.Append(new SessionArtifact(image.ImageId, result, ArtifactType)).Distinct().ToList(),
                    },
                }, cancellationToken);
                log($"Image {image.ImageId} customized: result {result} ('{image.ResultName}').");
                return true;
            }
            if (ansibleSucceeded)
            {
                log($"IMS job {image.JobId} ended in {status} without a result; see cray ims jobs logs {image.JobId}.");
            }
            return false;
        }));
        return ansibleSucceeded && outcomes.All(outcome => outcome);
    }

    /// <summary>
    /// Whether the job moved on from waiting_on_user within a few seconds: the signal can arrive
    /// even when ssh reports a failure, because the job stops its sshd as soon as it sees the file.
    /// </summary>
    private async Task<bool> LeftWaitingAsync(ImageHost image, CancellationToken cancellationToken)
    {
        var job = await WaitForStatusAsync(image.JobId, ["packaging_artifacts", "error", "success"], TimeSpan.FromSeconds(10), cancellationToken);
        return job?["status"]?.GetValue<string>() is { } status && status != "waiting_on_user";
    }

    /// <summary>
    /// The job once its status is one of <paramref name="statuses"/> (or when <paramref name="limit"/>
    /// runs out; null once it is gone). Each request waits in IMS; against an IMS that answers at
    /// once, the loop paces itself by the poll interval.
    /// </summary>
    private async Task<JsonObject?> WaitForStatusAsync(string jobId, string[] statuses, TimeSpan? limit, CancellationToken cancellationToken)
    {
        var deadline = limit is null ? (DateTimeOffset?)null : clock.GetUtcNow() + limit.Value;
        while (true)
        {
            var remaining = deadline is null ? LongPoll : deadline.Value - clock.GetUtcNow();
            var asked = clock.GetTimestamp();
            var job = await ims.WaitForJobAsync(jobId, statuses, remaining < LongPoll ? remaining : LongPoll, cancellationToken);
            if (job is null || statuses.Contains(job["status"]?.GetValue<string>()) || clock.GetUtcNow() >= deadline)
            {
                return job;
            }
            if (clock.GetElapsedTime(asked) < runnerOptions.PollInterval)
            {
                await Task.Delay(runnerOptions.PollInterval, clock, cancellationToken);
            }
        }
    }

    private Task<ProcessResult> SshAsync(ImageHost image, SessionWorkspace workspace, string command, CancellationToken cancellationToken)
        => runner.RunAsync(new ProcessRequest("ssh",
        [
            "-i", workspace.ImagePrivateKey, "-p", image.Port.ToString(CultureInfo.InvariantCulture),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
            $"root@{image.Host}", command,
        ])
        { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);

    /// <summary>Deletes the IMS jobs a session leaves unfinished and its public key record, whatever happened.</summary>
    public async Task CleanUpAsync(SessionWorkspace workspace, Action<string> log)
    {
        foreach (var image in workspace.Images)
        {
            try
            {
                var job = await ims.GetJobAsync(image.JobId, CancellationToken.None);
                if (job is not null && job["status"]?.GetValue<string>() is not ("success" or "error"))
                {
                    await ims.DeleteJobAsync(image.JobId, CancellationToken.None);
                    log($"Deleted the unfinished IMS job {image.JobId}.");
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or SessionFailedException or OperationCanceledException)
            {
                log($"Could not clean up IMS job {image.JobId}: {exception.Message}");
            }
        }
        if (workspace.PublicKeyId is not null)
        {
            try
            {
                await ims.DeletePublicKeyAsync(workspace.PublicKeyId, CancellationToken.None);
            }
            catch (Exception exception) when (exception is HttpRequestException or SessionFailedException or OperationCanceledException)
            {
                log($"Could not delete the session's IMS public key {workspace.PublicKeyId}: {exception.Message}");
            }
        }
    }
}
