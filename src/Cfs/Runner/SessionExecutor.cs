using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cfs.Configurations;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Cfs.Sessions;
using Cray.Cfs.Sources;
using Cray.Platform.Processes;

namespace Cray.Cfs.Runner;

/// <summary>
/// Runs one session to its end: the image target as cfs.md §4.4 describes it (with a bounded wait
/// for images IMS does not have yet), then complete with succeeded true or false. Whatever happens,
/// its IMS jobs are finished or deleted, its key is removed and its directory is gone.
/// </summary>
public sealed class SessionExecutor(
    SessionService sessions,
    ConfigurationService configurations,
    SourceService sources,
    OptionsService options,
    ImsClient ims,
    GitMirror git,
    CfsRunnerOptions runnerOptions,
    SessionLogs logs,
    IProcessRunner runner)
{
    public const string ArtifactType = "ims_customized_image";

    private sealed record ImageHost(string ImageId, string JobId, string ResultName)
    {
        public string Host { get; set; } = "";

        public int Port { get; set; }
    }

    private sealed class Run(string name, string directory)
    {
        public string Name { get; } = name;

        public string Directory { get; } = directory;

        public string PrivateKey => Path.Combine(Directory, "id_image");

        public List<ImageHost> Images { get; } = [];

        public string? PublicKeyId { get; set; }

        /// <summary>SSH ControlPersist sockets: a short path, as a Unix socket path may not exceed 108 bytes.</summary>
        public string? ControlPathDirectory { get; set; }
    }

    public async Task RunAsync(string name, CancellationToken stopping)
    {
        void Log(string line) => logs.Append(name, line);
        var session = await sessions.GetAsync(name, stopping);
        var settings = await options.GetAsync(stopping);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (OptionsService.DurationOf(settings, "session_timeout") is { } limit)
        {
            timeout.CancelAfter(limit);
        }
        var cancellationToken = timeout.Token;
        var run = new Run(name, Path.Combine(runnerOptions.SessionsDirectory, name));
        string? failure = null;
        var succeeded = false;
        var stopped = false;
        var total = Stopwatch.StartNew();
        try
        {
            Directory.CreateDirectory(runnerOptions.SessionsDirectory);
            Directory.CreateDirectory(run.Directory);
            File.SetUnixFileMode(run.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await sessions.UpdateAsync(name, current => current with
            {
                Status = current.Status with { Session = current.Status.Session with { Status = SessionStates.Running } },
            }, cancellationToken);
            Log($"Session {name} running: configuration {session.Configuration.Name}, target {session.Target.Definition}.");
            var configuration = await configurations.FindAsync(session.Configuration.Name, cancellationToken)
                ?? throw new SessionFailedException($"Configuration {session.Configuration.Name} no longer exists.");
            var layers = LayerSelection.Select(ConfigurationService.Layers(configuration).ToList(), session.Configuration.Limit);
            Log($"Layers to run: {(layers.Count == 0 ? "none" : string.Join(", ", layers.Select(entry => $"{entry.Index} ({entry.Layer["name"]?.GetValue<string>() ?? "unnamed"})")))}.");
            succeeded = session.Target.Definition switch
            {
                TargetDefinitions.Image => await RunImageTargetAsync(session, layers, settings, run, Log, cancellationToken),
                _ => throw new SessionFailedException(
                    $"The '{session.Target.Definition}' target is not supported by this runner yet; image sessions are."),
            };
        }
        catch (SessionFailedException exception)
        {
            failure = exception.Message;
        }
        catch (ProcessFailedException exception)
        {
            failure = exception.Message;
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            failure = $"The session ran longer than the session_timeout option allows and was stopped.";
        }
        catch (OperationCanceledException)
        {
            stopped = true;
            failure = "The session was stopped (deleted, or cray-server is shutting down).";
        }
        finally
        {
            await CleanUpAsync(run, Log);
        }
        if (failure is not null)
        {
            Log($"Failed: {failure}");
        }
        Log($"Session {name} complete in {Seconds(total.Elapsed)}: succeeded {(succeeded ? "true" : "false")}.");
        try
        {
            await sessions.UpdateAsync(name, current => current with
            {
                Status = current.Status with
                {
                    Session = current.Status.Session with
                    {
                        Status = SessionStates.Complete,
                        Succeeded = succeeded ? SessionResults.True : SessionResults.False,
                        CompletionTime = DateTime.UtcNow.ToString(SessionService.StartTimeFormat, CultureInfo.InvariantCulture),
                    },
                },
            }, CancellationToken.None);
        }
        catch (Platform.Problems.ProblemException) when (stopped)
        {
            // Deleted while it ran: there is nothing left to complete.
        }
    }

    private async Task<bool> RunImageTargetAsync(SessionRecord session, List<(int Index, JsonObject Layer)> layers, JsonObject settings, Run run,
        Action<string> log, CancellationToken cancellationToken)
    {
        var groups = session.Target.Groups ?? [];
        var imageIds = groups.SelectMany(group => group.Members).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var images = await PhaseAsync(log, "waiting for images", () => WaitForImagesAsync(imageIds, settings, log, cancellationToken));
        // Layers are checked out before any IMS job starts: a bad repository, commit or playbook fails fast.
        var playbooks = await PhaseAsync(log, "checking out layers", async () =>
        {
            var paths = new List<string>();
            foreach (var (index, layer) in layers)
            {
                paths.Add(await CheckoutLayerAsync(index, layer, settings, run, log, cancellationToken));
            }
            return paths;
        });

        await PhaseAsync(log, "staging images", async () =>
        {
            await runner.RunCheckedAsync(new ProcessRequest("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"cfs-{session.Name}", "-f", run.PrivateKey])
            {
                Timeout = TimeSpan.FromMinutes(1),
            }, cancellationToken);
            run.PublicKeyId = await ims.CreatePublicKeyAsync($"cfs_{session.Name}", await File.ReadAllTextAsync(run.PrivateKey + ".pub", cancellationToken), cancellationToken);
            var requireDkms = layers.Any(entry => entry.Layer["special_parameters"]?["ims_require_dkms"]?.GetValue<bool>() == true);
            foreach (var imageId in imageIds)
            {
                var resultName = session.Target.ImageMap?.FirstOrDefault(mapping => string.Equals(mapping.SourceId, imageId, StringComparison.OrdinalIgnoreCase))?.ResultName
                    ?? $"{images[imageId]["name"]!.GetValue<string>()}_cfs_{session.Name}";
                var body = new JsonObject
                {
                    ["job_type"] = "customize",
                    ["artifact_id"] = images[imageId]["id"]!.GetValue<string>(),
                    ["public_key_id"] = run.PublicKeyId,
                    ["image_root_archive_name"] = resultName,
                    ["ssh_containers"] = new JsonArray(new JsonObject { ["name"] = session.Name, ["jail"] = true }),
                };
                if (requireDkms)
                {
                    body["require_dkms"] = true;
                }
                var job = await ims.CreateJobAsync(body, cancellationToken);
                var host = new ImageHost(imageId, job["id"]!.GetValue<string>(), resultName);
                run.Images.Add(host);
                log($"IMS job {host.JobId} customizes image {imageId} into '{resultName}'.");
                await sessions.UpdateAsync(session.Name, current => current with
                {
                    Status = current.Status with { Session = current.Status.Session with { ImsJob = host.JobId } },
                }, cancellationToken);
            }
            await Task.WhenAll(run.Images.Select(image => WaitUntilServedAsync(session.Name, image, run, log, cancellationToken)));
        });
        // The jobs hold the key now; the reference deletes the record right after launching them.
        await ims.DeletePublicKeyAsync(run.PublicKeyId!, cancellationToken);
        run.PublicKeyId = null;

        var inventory = WriteInventory(session, run);
        var ansibleConfig = await WriteAnsibleConfigAsync(session, run, cancellationToken);
        var limit = string.IsNullOrEmpty(session.Ansible.Limit) ? string.Join(',', imageIds) : session.Ansible.Limit;
        var ansibleSucceeded = true;
        foreach (var ((index, layer), playbook) in layers.Zip(playbooks))
        {
            var layerName = layer["name"]?.GetValue<string>() ?? $"layer {index}";
            var passed = await PhaseAsync(log, $"layer {index} ({layerName})",
                () => RunLayerAsync(session, index, playbook, inventory, ansibleConfig, limit, run, log, cancellationToken));
            if (!passed)
            {
                ansibleSucceeded = false;
                log($"Layer {index} ({layerName}) failed; later layers do not run.");
                break;
            }
        }
        if (!ansibleSucceeded && session.DebugOnFailure)
        {
            await PhaseAsync(log, "debug hold", () => HoldForDebuggingAsync(settings, run, log, cancellationToken));
        }

        return await PhaseAsync(log, "packaging images", () => TearDownAsync(session.Name, ansibleSucceeded, run, log, cancellationToken));
    }

    public const string ReleaseFile = "release";

    /// <summary>
    /// debug_on_failure: the jails stay up for the debug_wait_time option so that an admin can SSH
    /// in and look; touching the session directory's release file ends the hold early.
    /// </summary>
    private async Task HoldForDebuggingAsync(JsonObject settings, Run run, Action<string> log, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromSeconds(settings["debug_wait_time"]?.GetValue<int>() ?? 3600);
        foreach (var image in run.Images)
        {
            log($"debug_on_failure: image {image.ImageId} stays up for {wait}: ssh -i {run.PrivateKey} -p {image.Port} root@{image.Host}");
        }
        var release = Path.Combine(run.Directory, ReleaseFile);
        log($"debug_on_failure: touch {release} to end the hold early.");
        var deadline = DateTime.UtcNow + wait;
        while (DateTime.UtcNow < deadline && !File.Exists(release))
        {
            await Task.Delay(runnerOptions.PollInterval, cancellationToken);
        }
        log(File.Exists(release) ? "debug_on_failure: released." : "debug_on_failure: debug_wait_time is over.");
    }

    /// <summary>
    /// The seed: a session naming an image IMS does not know "will not fail and will instead wait".
    /// It waits, saying for what, until the image exists with its files, or until image_wait_timeout.
    /// </summary>
    private async Task<Dictionary<string, JsonObject>> WaitForImagesAsync(List<string> imageIds, JsonObject settings, Action<string> log, CancellationToken cancellationToken)
    {
        var limit = OptionsService.DurationOf(settings, "image_wait_timeout");
        var deadline = limit is null ? DateTime.MaxValue : DateTime.UtcNow + limit.Value;
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
            if (DateTime.UtcNow > deadline)
            {
                throw new SessionFailedException(
                    $"These images were not available in IMS within the image_wait_timeout option ({limit}): {string.Join(", ", imageIds.Where(id => !found.ContainsKey(id)))}.");
            }
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
    }

    private async Task WaitUntilServedAsync(string sessionName, ImageHost image, Run run, Action<string> log, CancellationToken cancellationToken)
    {
        while (true)
        {
            var job = await ims.GetJobAsync(image.JobId, cancellationToken) ?? throw new SessionFailedException($"IMS job {image.JobId} disappeared.");
            var status = job["status"]?.GetValue<string>();
            if (status == "waiting_on_user")
            {
                var containers = job["ssh_containers"] as JsonArray ?? [];
                var container = containers.FirstOrDefault(candidate => candidate?["name"]?.GetValue<string>() == sessionName) ?? containers.FirstOrDefault();
                var endpoint = container?["connection_info"]?["cluster.local"];
                image.Host = endpoint?["host"]?.GetValue<string>() ?? throw new SessionFailedException($"IMS job {image.JobId} has no SSH connection info.");
                image.Port = endpoint["port"]?.GetValue<int>() ?? throw new SessionFailedException($"IMS job {image.JobId} has no SSH port.");
                break;
            }
            if (status is "error" or "success")
            {
                throw new SessionFailedException($"IMS job {image.JobId} for image {image.ImageId} ended in {status} before it could be configured; see cray ims jobs logs {image.JobId}.");
            }
            await Task.Delay(runnerOptions.PollInterval, cancellationToken);
        }
        // Readiness means a command runs, not just that the port answers.
        var deadline = DateTime.UtcNow + runnerOptions.SshReadyTimeout;
        while (true)
        {
            var result = await SshAsync(image, run, "true", cancellationToken);
            if (result.Succeeded)
            {
                log($"Image {image.ImageId} is served by IMS job {image.JobId} at {image.Host}:{image.Port}; SSH runs commands.");
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new SessionFailedException($"SSH into IMS job {image.JobId} did not work within {runnerOptions.SshReadyTimeout}: {result.Output.Trim()}");
            }
            await Task.Delay(runnerOptions.PollInterval, cancellationToken);
        }
    }

    /// <summary>Exactly the session's groups, plus cfs_image with the reference's host variables.</summary>
    private static string WriteInventory(SessionRecord session, Run run)
    {
        var children = new JsonObject
        {
            ["cfs_image"] = new JsonObject
            {
                ["hosts"] = new JsonObject(run.Images.Select(image => KeyValuePair.Create(image.ImageId, (JsonNode?)new JsonObject
                {
                    ["ansible_host"] = image.Host,
                    ["ansible_port"] = image.Port,
                    ["ansible_user"] = "root",
                    ["cray_cfs_image"] = true,
                    ["ansible_python_interpreter"] = "/usr/bin/env python3",
                    ["ansible_ssh_private_key_file"] = run.PrivateKey,
                }))),
            },
        };
        foreach (var group in session.Target.Groups ?? [])
        {
            var hosts = children[group.Name]?["hosts"] as JsonObject ?? [];
            foreach (var member in group.Members)
            {
                var host = run.Images.First(image => string.Equals(image.ImageId, member, StringComparison.OrdinalIgnoreCase)).ImageId;
                hosts[host] = new JsonObject();
            }
            children[group.Name] = new JsonObject { ["hosts"] = hosts.DeepClone() };
        }
        var path = Path.Combine(run.Directory, "inventory.json");
        File.WriteAllText(path, new JsonObject { ["all"] = new JsonObject { ["children"] = children } }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    private async Task<string> WriteAnsibleConfigAsync(SessionRecord session, Run run, CancellationToken cancellationToken)
    {
        run.ControlPathDirectory = Directory.CreateTempSubdirectory("cfs-cp-").FullName;
        var controlPath = run.ControlPathDirectory;
        string text;
        if (string.IsNullOrEmpty(session.Ansible.Config) || session.Ansible.Config == DefaultAnsibleConfig.Name)
        {
            text = DefaultAnsibleConfig.Text(controlPath);
        }
        else
        {
            var named = Path.Combine(runnerOptions.AnsibleConfigsDirectory, session.Ansible.Config + ".cfg");
            if (session.Ansible.Config.Contains('/') || !File.Exists(named))
            {
                throw new SessionFailedException($"Ansible configuration '{session.Ansible.Config}' not found: put it in {named}.");
            }
            text = await File.ReadAllTextAsync(named, cancellationToken);
        }
        var path = Path.Combine(run.Directory, "ansible.cfg");
        await File.WriteAllTextAsync(path, text, cancellationToken);
        return path;
    }

    /// <summary>Checks a layer out at its commit and returns its playbook's path, which must be a file inside the checkout.</summary>
    private async Task<string> CheckoutLayerAsync(int index, JsonObject layer, JsonObject settings, Run run, Action<string> log, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(run.Directory, $"layer{index}");
        var cloneUrl = layer["clone_url"]?.GetValue<string>();
        SourceCredentials? credentials = null;
        if (layer["source"]?.GetValue<string>() is { } sourceName)
        {
            var source = await sources.FindAsync(sourceName, cancellationToken) ?? throw new SessionFailedException($"Source {sourceName} no longer exists.");
            cloneUrl = source["clone_url"]!.GetValue<string>();
            credentials = await sources.CredentialsAsync(source, cancellationToken);
        }
        var commit = layer["commit"]?.GetValue<string>() ?? throw new SessionFailedException($"Layer {index} has no commit.");
        await git.CheckoutAsync(cloneUrl ?? throw new SessionFailedException($"Layer {index} has no repository."), credentials, commit, directory, log, cancellationToken);
        var playbook = layer["playbook"]?.GetValue<string>() ?? OptionsService.Text(settings, "default_playbook");
        return await ResolveInsideAsync(directory, playbook, cancellationToken)
            ?? throw new SessionFailedException($"Layer {index}: the playbook '{playbook}' is not a file inside its repository.");
    }

    private async Task<bool> RunLayerAsync(SessionRecord session, int index, string playbookPath, string inventory, string ansibleConfig, string limit,
        Run run, Action<string> log, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(run.Directory, $"layer{index}");
        List<string> arguments = ["-i", inventory, playbookPath, "--limit", limit];
        if (session.Ansible.Verbosity > 0)
        {
            arguments.Add("-" + new string('v', session.Ansible.Verbosity));
        }
        if (!string.IsNullOrWhiteSpace(session.Ansible.Passthrough))
        {
            arguments.AddRange(AnsiblePassthrough.Split(session.Ansible.Passthrough));
        }
        log($"ansible-playbook {string.Join(' ', arguments.Skip(2))}");
        var result = await runner.RunAsync(new ProcessRequest("ansible-playbook", arguments)
        {
            WorkingDirectory = directory,
            Timeout = TimeSpan.FromHours(24),
            OutputLine = line => log("  " + line),
            Environment = new Dictionary<string, string?>
            {
                ["ANSIBLE_CONFIG"] = ansibleConfig,
                ["ANSIBLE_ROLES_PATH"] = Path.Combine(directory, "roles"),
                ["ANSIBLE_LOCAL_TEMP"] = Path.Combine(run.Directory, "tmp"),
                ["ANSIBLE_FORCE_COLOR"] = "0",
                ["ANSIBLE_NOCOLOR"] = "1",
                ["PYTHONUNBUFFERED"] = "1",
            },
        }, cancellationToken);
        return result.Succeeded;
    }

    /// <summary>The playbook's real path when it is a file inside the checkout (symbolic links resolved), else null.</summary>
    private async Task<string?> ResolveInsideAsync(string directory, string relative, CancellationToken cancellationToken)
    {
        var candidate = Path.GetFullPath(Path.Combine(directory, relative));
        if (!File.Exists(candidate))
        {
            return null;
        }
        var real = (await runner.RunAsync(new ProcessRequest("realpath", ["-e", "--", candidate, directory]) { Timeout = TimeSpan.FromSeconds(10) }, cancellationToken))
            .Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return real.Length == 2 && real[0].StartsWith(real[1] + "/", StringComparison.Ordinal) ? candidate : null;
    }

    /// <summary>Touches complete (or failed) in every jail; on success waits for each result and records it as an artifact.</summary>
    private async Task<bool> TearDownAsync(string sessionName, bool ansibleSucceeded, Run run, Action<string> log, CancellationToken cancellationToken)
    {
        var signal = ansibleSucceeded ? "/tmp/complete" : "/tmp/failed";
        var outcomes = await Task.WhenAll(run.Images.Select(async image =>
        {
            var touched = await SshAsync(image, run, $"touch {signal}", cancellationToken);
            if (!touched.Succeeded && !await LeftWaitingAsync(image, cancellationToken))
            {
                log($"Could not signal IMS job {image.JobId} ({touched.Output.Trim()}); deleting it.");
                await ims.DeleteJobAsync(image.JobId, cancellationToken);
                return false;
            }
            while (true)
            {
                var job = await ims.GetJobAsync(image.JobId, cancellationToken) ?? throw new SessionFailedException($"IMS job {image.JobId} disappeared.");
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
                if (status is "error" or "success")
                {
                    if (ansibleSucceeded)
                    {
                        log($"IMS job {image.JobId} ended in {status} without a result; see cray ims jobs logs {image.JobId}.");
                    }
                    return false;
                }
                await Task.Delay(runnerOptions.PollInterval, cancellationToken);
            }
        }));
        return ansibleSucceeded && outcomes.All(outcome => outcome);
    }

    /// <summary>
    /// Whether the job moved on from waiting_on_user within a few seconds: the signal can arrive
    /// even when ssh reports a failure, because the job stops its sshd as soon as it sees the file.
    /// </summary>
    private async Task<bool> LeftWaitingAsync(ImageHost image, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var status = (await ims.GetJobAsync(image.JobId, cancellationToken))?["status"]?.GetValue<string>();
            if (status != "waiting_on_user")
            {
                return status is not null;
            }
            await Task.Delay(runnerOptions.PollInterval, cancellationToken);
        }
        return false;
    }

    private Task<ProcessResult> SshAsync(ImageHost image, Run run, string command, CancellationToken cancellationToken)
        => runner.RunAsync(new ProcessRequest("ssh",
        [
            "-i", run.PrivateKey, "-p", image.Port.ToString(CultureInfo.InvariantCulture),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
            $"root@{image.Host}", command,
        ])
        { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);

    /// <summary>
    /// Deletes what a finished or failed run leaves: unfinished IMS jobs, the public key record,
    /// SSH control masters, and the session directory (with its private key).
    /// </summary>
    private async Task CleanUpAsync(Run run, Action<string> log)
    {
        foreach (var image in run.Images)
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
            catch (Exception exception) when (exception is HttpRequestException or SessionFailedException)
            {
                log($"Could not clean up IMS job {image.JobId}: {exception.Message}");
            }
        }
        if (run.PublicKeyId is not null)
        {
            try
            {
                await ims.DeletePublicKeyAsync(run.PublicKeyId, CancellationToken.None);
            }
            catch (Exception exception) when (exception is HttpRequestException or SessionFailedException)
            {
                log($"Could not delete the session's IMS public key {run.PublicKeyId}: {exception.Message}");
            }
        }
        // Ansible's ControlPersist masters would outlive the session until their sockets time out.
        if (run.ControlPathDirectory is not null && Directory.Exists(run.ControlPathDirectory))
        {
            foreach (var socket in Directory.EnumerateFileSystemEntries(run.ControlPathDirectory))
            {
                await runner.RunAsync(new ProcessRequest("ssh", ["-o", $"ControlPath={socket}", "-O", "exit", "control-master"]) { Timeout = TimeSpan.FromSeconds(10) });
            }
        }
        foreach (var directory in new[] { run.Directory, run.ControlPathDirectory })
        {
            if (directory is not null && Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static async Task<T> PhaseAsync<T>(Action<string> log, string phase, Func<Task<T>> work)
    {
        log($"Phase {phase} started.");
        var stopwatch = Stopwatch.StartNew();
        var result = await work();
        log($"Phase {phase} finished in {Seconds(stopwatch.Elapsed)}.");
        return result;
    }

    private static Task PhaseAsync(Action<string> log, string phase, Func<Task> work)
        => PhaseAsync(log, phase, async () =>
        {
            await work();
            return true;
        });

    private static string Seconds(TimeSpan elapsed) => elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
