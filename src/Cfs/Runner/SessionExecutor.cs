using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cfs.Configurations;
using Cray.Cfs.LayerCache;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Cfs.Sessions;
using Cray.Cfs.Sources;
using Cray.Platform.Logs;
using Cray.Platform.Sandboxes;
using Cray.Processes;

namespace Cray.Cfs.Runner;

/// <summary>
/// Runs one session to its end, as cfs.md §4 describes: check out the layers (and any additional
/// inventory), stage the images for an image target, write the inventory, run each layer with
/// ansible-playbook, and complete with succeeded true or false. Whatever happens, its IMS jobs are
/// finished or deleted, its keys are removed and its directory is gone.
/// </summary>
public sealed class SessionExecutor(
    SessionService sessions,
    ConfigurationService configurations,
    SourceService sources,
    OptionsService options,
    ImageCustomization imageCustomization,
    SessionLayerCache layerCache,
    ImageProvenance imageProvenance,
    GitMirror git,
    NodeIdentity nodeIdentity,
    ComponentStateRecorder componentState,
    CfsRunnerOptions runnerOptions,
    SessionLogs logs,
    IProcessRunner runner,
    TimeProvider clock)
{
    public const string ReleaseFile = "release";

    public async Task RunAsync(string name, CancellationToken stopping)
    {
        void Log(string line) => logs.Append(name, line);
        var session = await sessions.GetAsync(name, stopping);
        var settings = await options.GetAsync(stopping);
        using var limit = OptionsService.DurationOf(settings, "session_timeout") is { } sessionTimeout
            ? new CancellationTokenSource(sessionTimeout, clock)
            : new CancellationTokenSource();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping, limit.Token);
        var cancellationToken = timeout.Token;
        var workspace = new SessionWorkspace(name, Path.Combine(runnerOptions.SessionsDirectory, name));
        string? failure = null;
        var succeeded = false;
        var stopped = false;
        var total = Stopwatch.StartNew();
        try
        {
            Directory.CreateDirectory(runnerOptions.SessionsDirectory);
            Directory.CreateDirectory(workspace.Directory);
            File.SetUnixFileMode(workspace.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await sessions.UpdateAsync(name, current => current with
            {
                Status = current.Status with { Session = current.Status.Session with { Status = SessionStates.Running } },
            }, cancellationToken);
            Log($"Session {name} running: configuration {session.Configuration.Name}, target {session.Target.Definition}.");
            succeeded = await RunTargetAsync(session, settings, workspace, Log, cancellationToken);
        }
        catch (SessionFailedException exception)
        {
            failure = exception.Message;
        }
        catch (ProcessFailedException exception)
        {
            failure = exception.Message;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            stopped = true;
            failure = "The session was stopped (deleted, or cray-server is shutting down).";
        }
        catch (SessionDeletedException exception)
        {
            stopped = true;
            failure = exception.Message;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            failure = $"The session ran longer than the session_timeout option allows and was stopped.";
        }
        catch (Exception exception)
        {
            // Whatever went wrong, the session must still complete (false) and clean up.
            failure = exception is OperationCanceledException
                ? $"A request to IMS or the store timed out: {exception.Message}"
                : $"Internal error ({exception.GetType().Name}): {exception.Message}";
        }
        finally
        {
            await CleanUpAsync(workspace, Log);
        }
        if (failure is not null)
        {
            Log($"Failed: {failure}");
        }
        Log($"Session {name} complete in {Seconds(total.Elapsed)}: succeeded {(succeeded ? "true" : "false")}.");
        SessionMetrics.Completed.Add(1, new KeyValuePair<string, object?>("succeeded", succeeded ? "true" : "false"));
        try
        {
            // Every line reaches the shared store before the session is complete: a follower on another server stops then.
            await logs.FlushAsync(CancellationToken.None);
            await sessions.UpdateAsync(name, current => current with
            {
                Status = current.Status with
                {
                    Session = current.Status.Session with
                    {
                        Status = SessionStates.Complete,
                        Succeeded = succeeded ? SessionResults.True : SessionResults.False,
                        CompletionTime = clock.GetUtcNow().UtcDateTime.ToString(SessionService.StartTimeFormat, CultureInfo.InvariantCulture),
                    },
                },
            }, CancellationToken.None);
        }
        catch (Platform.Problems.ProblemException) when (stopped)
        {
            // Deleted while it ran: there is nothing left to complete.
        }
    }

    private async Task<bool> RunTargetAsync(SessionRecord session, JsonObject settings, SessionWorkspace workspace, Action<string> log, CancellationToken cancellationToken)
    {
        var isImage = session.Target.Definition == TargetDefinitions.Image;
        var imageIds = (session.Target.Groups ?? []).SelectMany(group => group.Members).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var images = isImage
            ? await PhaseAsync(log, "waiting for images", () => imageCustomization.WaitForImagesAsync(imageIds, settings, log, cancellationToken))
            : [];
        // Layers are checked out before any IMS job starts: a bad repository, commit or playbook fails fast.
        var (layers, additionalInventoryCommit) = await PhaseAsync(log, "checking out layers", () => CheckoutAsync(session, settings, workspace, log, cancellationToken));
        if (session.Target.Definition == TargetDefinitions.Repo && additionalInventoryCommit is null)
        {
            throw new SessionFailedException("The repo target takes its hosts from additional inventory, and there is none: set additional_inventory "
                + "in the configuration, or the additional_inventory_url or additional_inventory_source option.");
        }
        var ansibleConfig = await WriteAnsibleConfigAsync(session, workspace, cancellationToken);
        var checkouts = layers.Select(entry => entry.Layer).ToList();
        var layerPlans = new Dictionary<string, ImageLayerPlan>(StringComparer.OrdinalIgnoreCase);
        if (isImage)
        {
            layerPlans = await layerCache.PlanAsync(session, settings, images, layers, ansibleConfig.Text, additionalInventoryCommit, log, cancellationToken);
            var requireDkms = layers.Any(layer => layer.Configured?.RequiresDkms == true);
            await PhaseAsync(log, "staging images", () => imageCustomization.StageAsync(session, images, requireDkms, layerPlans, workspace, log, cancellationToken));
            await layerCache.NoteRestoredAsync(layerPlans, workspace.Images, log, cancellationToken);
        }

        try
        {
            var inventory = SessionInventory.Write(session.Target, workspace);
            var nodeKey = await nodeIdentity.EnsureAsync(cancellationToken);
            // Image sessions default the limit to the image ids, which keeps additional-inventory hosts out.
            var limit = !string.IsNullOrEmpty(session.Ansible.Limit) ? session.Ansible.Limit : isImage ? string.Join(',', imageIds) : null;
            var recordState = !isImage && string.IsNullOrWhiteSpace(session.Ansible.Passthrough) && !DebugConfigurations.IsDebug(session.Configuration.Name);
            if (!recordState)
            {
                log("Component state is not recorded for this session (image target, passthrough or debug configuration).");
            }
            var ansibleSucceeded = true;
            var started = clock.GetUtcNow();
            for (var position = 0; position < checkouts.Count; position++)
            {
                var layer = checkouts[position];
                // An image whose job restored this layer from the layer cache is left out of it.
                var reused = workspace.Images.Where(image => layerPlans[image.ImageId].Restored > position).ToList();
                if (isImage && reused.Count == workspace.Images.Count)
                {
                    log($"Layer {layer.Index} ({layer.Name}) reused from the layer cache for every image "
                        + $"(key {string.Join(", ", reused.Select(image => LayerKeys.Short(layerPlans[image.ImageId].Keys[position]!)).Distinct())}).");
                    continue;
                }
                var layerLimit = reused.Count == 0 ? limit : Excluding(limit!, reused.Select(image => image.ImageId));
                foreach (var image in reused)
                {
                    log($"Layer {layer.Index} ({layer.Name}) reused from the layer cache for image {image.ImageId}.");
                }
                var passed = await PhaseAsync(log, $"layer {layer.Index} ({layer.Name})", async () =>
                {
                    var recap = new PlayRecap();
                    var noHostLeft = false;
                    var result = await RunLayerAsync(session, layer, inventory, ansibleConfig, nodeKey, layerLimit, workspace, line =>
                    {
                        recap.Add(line);
                        noHostLeft |= line.Contains(NoHostsLeft, StringComparison.Ordinal);
                        log("  " + line);
                    }, cancellationToken);
                    if (!result && noHostLeft && reused.Count > 0)
                    {
                        // The session's own limit names only images that reused the layer: nothing is left to run it on.
                        log($"Layer {layer.Index} ({layer.Name}): no host of the session's limit is left once the images that reused it are left out.");
                        result = true;
                    }
                    if (recordState)
                    {
                        await componentState.RecordAsync(session.Name, layer, recap, log, cancellationToken);
                    }
                    return result;
                });
                if (!passed)
                {
                    ansibleSucceeded = false;
                    log($"Layer {layer.Index} ({layer.Name}) failed; later layers do not run.");
                    break;
                }
                if (isImage)
                {
                    await SealLayerAsync(session, workspace, layerPlans, position, layer, reused, log, cancellationToken);
                }
            }
            // IMS packages an image only once every SSH session into its jail has closed: Ansible's
            // ControlPersist masters would hold the jails open for seconds after the last layer.
            await StopControlMastersAsync(workspace);
            if (!ansibleSucceeded && session.DebugOnFailure)
            {
                await PhaseAsync(log, "debug hold", () => HoldForDebuggingAsync(session.Name, settings, workspace, log, cancellationToken));
            }
            if (!isImage)
            {
                return ansibleSucceeded;
            }
            var provenance = ansibleSucceeded
                ? await imageProvenance.WriteAsync(session, images, checkouts, layerPlans, workspace, started, log, cancellationToken)
                : null;
            var succeeded = await PhaseAsync(log, "packaging images", () => imageCustomization.TearDownAsync(session.Name, ansibleSucceeded, workspace, log, cancellationToken));
            if (provenance is not null)
            {
                await imageProvenance.RecordAsync(provenance, workspace.Images, log, cancellationToken);
            }
            return succeeded;
        }
        finally
        {
            // Whatever ended the session, the layers its jobs stored are kept: a re-run starts from them.
            if (isImage)
            {
                await RecordLayersAsync(session, settings, layerPlans, workspace, checkouts, log);
            }
        }
    }

    private const string NoHostsLeft = "leaves us with no hosts to target";

    private async Task RecordLayersAsync(SessionRecord session, JsonObject settings, Dictionary<string, ImageLayerPlan> layerPlans, SessionWorkspace workspace,
        List<LayerCheckout> layers, Action<string> log)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await layerCache.RecordAsync(session, settings, layerPlans, workspace.Images, layers, log, limit.Token);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            log($"Layer cache: the layers this session stored could not be recorded ({exception.Message}); a prune removes their objects later.");
        }
    }

    /// <summary>
    /// An Ansible limit that leaves <paramref name="hosts"/> out. Ansible splits a pattern on commas
    /// when it has any, and then on nothing else; on colons otherwise: the exclusions join the
    /// pattern with its own separator.
    /// </summary>
    public static string Excluding(string limit, IEnumerable<string> hosts)
    {
        var separator = limit.Contains(',', StringComparison.Ordinal) ? ',' : ':';
        return limit + string.Concat(hosts.Select(host => $"{separator}!{host}"));
    }

    /// <summary>
    /// After a layer ran: each image's job that ran it seals it, storing it in the layer cache when
    /// it may be cached, so that the next layer's changes are kept apart. A layer that is not
    /// stored is not sealed: the next one simply goes on in the same upper directory.
    /// </summary>
    private async Task SealLayerAsync(SessionRecord session, SessionWorkspace workspace, Dictionary<string, ImageLayerPlan> layerPlans, int position,
        LayerCheckout layer, List<ImageHost> reused, Action<string> log, CancellationToken cancellationToken)
    {
        var sealing = workspace.Images.Except(reused).Where(image => layerPlans[image.ImageId].Keys[position] is not null).ToList();
        if (sealing.Count == 0)
        {
            return;
        }
        // The jails go down while their layers are sealed: no Ansible connection may hold them.
        await StopControlMastersAsync(workspace);
        var sealedImages = await Task.WhenAll(sealing.Select(async image =>
        {
            var plan = layerPlans[image.ImageId];
            var key = plan.Keys[position]!;
            var path = LayerCacheService.NewPath(key);
            if (await imageCustomization.SealLayerAsync(session.Name, image, path, cancellationToken) is not { } index)
            {
                log($"IMS does not seal layers (no POST /jobs/{{id}}/layers): image {image.ImageId}'s layers are not cached in this session.");
                plan.StopCaching(position);
                return null;
            }
            // The job says which of its layers this is: its recording matches by that index and the path.
            plan.Storing[index] = (position, key, path);
            return $"image {image.ImageId} (key {LayerKeys.Short(key)})";
        }));
        SessionInventory.Write(session.Target, workspace);
        if (sealedImages.OfType<string>().Any())
        {
            log($"Sealed layer {layer.Index} ({layer.Name}) of {string.Join(", ", sealedImages.OfType<string>())}; it is stored in the layer cache while the next layer runs.");
        }
    }

    /// <summary>
    /// debug_on_failure: the session holds for the debug_wait_time option so that an admin can SSH
    /// into the image jails (or read the session's inventory and layers). The hold is in the session's
    /// record, so `cray cfs v3 sessions release NAME` through any API server ends it early; so does
    /// touching the session directory's release file on this machine.
    /// </summary>
    private async Task HoldForDebuggingAsync(string name, JsonObject settings, SessionWorkspace workspace, Action<string> log, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromSeconds(settings["debug_wait_time"]?.GetValue<int>() ?? 3600);
        var deadline = clock.GetUtcNow() + wait;
        await sessions.UpdateAsync(name, session => session with { DebugHold = new DebugHold(deadline, Released: false) }, cancellationToken);
        ImageCustomization.DescribeDebugAccess(workspace, wait, log);
        log($"debug_on_failure: the session's inventory and layers stay in {workspace.Directory} for {wait}.");
        var release = Path.Combine(workspace.Directory, ReleaseFile);
        log($"debug_on_failure: `cray cfs v3 sessions release {name}` (or touch {release}) ends the hold early.");
        string? releasedBy = null;
        while (releasedBy is null && clock.GetUtcNow() < deadline)
        {
            await Task.Delay(runnerOptions.PollInterval, clock, cancellationToken);
            // Deleted while it held: noticed here, before the deletion watch stops the session.
            var current = await sessions.FindAsync(name, cancellationToken) ?? throw new SessionDeletedException();
            releasedBy = File.Exists(release) ? "the release file"
                : current.DebugHold?.Released == true ? "cray cfs v3 sessions release" : null;
        }
        await sessions.UpdateAsync(name, session => session with { DebugHold = null }, cancellationToken);
        log(releasedBy is not null ? $"debug_on_failure: released ({releasedBy})." : "debug_on_failure: debug_wait_time is over.");
    }

    /// <summary>
    /// The selected layers, each checked out at its commit, and the additional inventory (the
    /// configuration's, else the additional_inventory_source option's, else the
    /// additional_inventory_url option's) checked out as the inventory directory.
    /// A built-in debug configuration is one pseudo-layer and no additional inventory.
    /// </summary>
    private async Task<(List<(LayerCheckout Layer, ConfigurationLayer? Configured)> Layers, string? AdditionalInventoryCommit)> CheckoutAsync(SessionRecord session, JsonObject settings,
        SessionWorkspace workspace, Action<string> log, CancellationToken cancellationToken)
    {
        var configuration = await configurations.FindAsync(session.Configuration.Name, cancellationToken);
        if (configuration is null && DebugConfigurations.Playbook(session.Configuration.Name) is { } debugPlaybook)
        {
            var directory = workspace.LayerDirectory(DebugConfigurations.LayerName);
            Directory.CreateDirectory(directory);
            var playbook = session.Configuration.Name[DebugConfigurations.Prefix.Length..] + ".yaml";
            await File.WriteAllTextAsync(Path.Combine(directory, playbook), debugPlaybook, cancellationToken);
            log($"Built-in debug configuration {session.Configuration.Name}: one layer, {playbook}.");
            return ([(new LayerCheckout(DebugConfigurations.LayerName, DebugConfigurations.LayerName, "", playbook, "", Path.Combine(directory, playbook), directory), null)], null);
        }
        if (configuration is null)
        {
            throw new SessionFailedException($"Configuration {session.Configuration.Name} no longer exists.");
        }
        var selected = LayerSelection.Select(configuration.Layers, session.Configuration.Limit);
        log($"Layers to run: {(selected.Count == 0 ? "none" : string.Join(", ", selected.Select(entry => $"{entry.Index} ({entry.Layer.Name ?? "unnamed"})")))}.");
        var layers = new List<(LayerCheckout, ConfigurationLayer?)>();
        foreach (var (index, layer) in selected)
        {
            layers.Add((await CheckoutLayerAsync(index, layer, settings, workspace, log, cancellationToken), layer));
        }
        return (layers, await CheckoutAdditionalInventoryAsync(configuration, settings, workspace, log, cancellationToken));
    }

    /// <summary>The additional inventory's checked-out commit, or null when the session has none.</summary>
    private async Task<string?> CheckoutAdditionalInventoryAsync(ConfigurationRecord configuration, JsonObject settings, SessionWorkspace workspace, Action<string> log,
        CancellationToken cancellationToken)
    {
        string origin;
        (string CloneUrl, SourceCredentials? Credentials) repository;
        string? commit = null;
        if (configuration.AdditionalInventory is { } inventory)
        {
            origin = "the configuration's additional_inventory";
            repository = await RepositoryAsync(inventory.Source, inventory.CloneUrl, "The additional inventory", cancellationToken);
            commit = inventory.Commit;
        }
        else if (OptionsService.Text(settings, "additional_inventory_source") is { Length: > 0 } sourceName)
        {
            origin = "the additional_inventory_source option";
            repository = await RepositoryAsync(sourceName, null, "The additional inventory", cancellationToken);
        }
        else if (OptionsService.Text(settings, "additional_inventory_url") is { Length: > 0 } url)
        {
            origin = "the additional_inventory_url option";
            repository = (url, null);
        }
        else
        {
            return null;
        }
        log($"Additional inventory from {origin}: {UrlCredentials.Redact(repository.CloneUrl)}.");
        var checkedOut = await git.CheckoutAsync(repository.CloneUrl, repository.Credentials, commit, workspace.InventoryDirectory, log, cancellationToken);
        log($"Additional inventory checked out at {checkedOut}.");
        var ignored = Directory.EnumerateFiles(workspace.InventoryDirectory, "*.ini").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        if (ignored.Count > 0)
        {
            log($"Warning: Ansible ignores *.ini files in an inventory directory (inventory_ignore_extensions): {string.Join(", ", ignored)}. Name them without the extension, or use YAML.");
        }
        return checkedOut;
    }

    /// <summary>Where a layer or additional inventory lives: its clone_url, or its source's URL and credentials.</summary>
    private async Task<(string CloneUrl, SourceCredentials? Credentials)> RepositoryAsync(string? sourceName, string? cloneUrl, string what, CancellationToken cancellationToken)
    {
        if (sourceName is not null)
        {
            var source = await sources.FindAsync(sourceName, cancellationToken) ?? throw new SessionFailedException($"{what}'s source {sourceName} no longer exists.");
            return (source.CloneUrl, await sources.CredentialsAsync(source, cancellationToken));
        }
        return (cloneUrl ?? throw new SessionFailedException($"{what} has no repository."), null);
    }

    /// <summary>The session's ansible.cfg as written for it: its path (ANSIBLE_CONFIG) and its text (which settings it makes).</summary>
    private sealed record AnsibleConfigFile(string Path, string Text);

    private async Task<AnsibleConfigFile> WriteAnsibleConfigAsync(SessionRecord session, SessionWorkspace workspace, CancellationToken cancellationToken)
    {
        workspace.ControlPathDirectory = Directory.CreateTempSubdirectory("cfs-cp-").FullName;
        string text;
        if (string.IsNullOrEmpty(session.Ansible.Config) || session.Ansible.Config == DefaultAnsibleConfig.Name)
        {
            text = DefaultAnsibleConfig.Text;
        }
        else
        {
            // Checked at create and PATCH; a record stored before those checks is refused here, never followed as a path.
            if (!AnsibleConfigNames.Pattern().IsMatch(session.Ansible.Config))
            {
                throw new SessionFailedException($"Ansible configuration '{session.Ansible.Config}' is not a name (letters, digits, '.', '_' and '-').");
            }
            var named = Path.Combine(runnerOptions.AnsibleConfigsDirectory, session.Ansible.Config + ".cfg");
            if (!File.Exists(named))
            {
                throw new SessionFailedException($"Ansible configuration '{session.Ansible.Config}' not found: put it in {named}.");
            }
            text = await File.ReadAllTextAsync(named, cancellationToken);
        }
        var path = Path.Combine(workspace.Directory, "ansible.cfg");
        await File.WriteAllTextAsync(path, text, cancellationToken);
        return new AnsibleConfigFile(path, text);
    }

    /// <summary>Checks a layer out at its commit; its playbook must be a file inside the checkout.</summary>
    private async Task<LayerCheckout> CheckoutLayerAsync(int index, ConfigurationLayer layer, JsonObject settings, SessionWorkspace workspace, Action<string> log,
        CancellationToken cancellationToken)
    {
        var label = index.ToString(CultureInfo.InvariantCulture);
        var directory = workspace.LayerDirectory(label);
        var (cloneUrl, credentials) = await RepositoryAsync(layer.Source, layer.CloneUrl, $"Layer {index}", cancellationToken);
        var commit = layer.Commit ?? throw new SessionFailedException($"Layer {index} has no commit.");
        // The commit checked out, in full: what the layer cache keys on.
        commit = await git.CheckoutAsync(cloneUrl, credentials, commit, directory, log, cancellationToken);
        var playbook = layer.Playbook ?? OptionsService.Text(settings, "default_playbook");
        var playbookPath = await ResolveInsideAsync(directory, playbook, cancellationToken)
            ?? throw new SessionFailedException($"Layer {index}: the playbook '{playbook}' is not a file inside its repository.");
        return new LayerCheckout(label, layer.Name ?? $"layer {index}", cloneUrl, playbook, commit, playbookPath, directory);
    }

    private async Task<bool> RunLayerAsync(SessionRecord session, LayerCheckout layer, string inventory, AnsibleConfigFile ansibleConfig, string nodeKey, string? limit,
        SessionWorkspace workspace, Action<string> outputLine, CancellationToken cancellationToken)
    {
        List<string> arguments = ["-i", inventory, layer.PlaybookPath];
        if (limit is not null)
        {
            arguments.AddRange(["--limit", limit]);
        }
        if (session.Ansible.Verbosity > 0)
        {
            arguments.Add("-" + new string('v', session.Ansible.Verbosity));
        }
        if (!string.IsNullOrWhiteSpace(session.Ansible.Passthrough))
        {
            arguments.AddRange(AnsiblePassthrough.Split(session.Ansible.Passthrough));
        }
        logs.Append(session.Name, $"ansible-playbook {string.Join(' ', arguments.Skip(2))}");
        // Nodes are reached as root with the node key, as the reference's AEE does, unless the
        // ansible.cfg says otherwise; inventory variables (ansible_user, ansible_ssh_private_key_file) beat both.
        var environment = AnsibleEnvironment.For(ansibleConfig.Text, nodeKey,
            workspace.ControlPathDirectory!, layer.Directory, Path.Combine(workspace.Directory, "tmp"));
        environment["ANSIBLE_CONFIG"] = ansibleConfig.Path;
        var sandbox = AnsibleSandbox.For(workspace, nodeKey, layer.Directory, environment);
        await using var userNamespace = await UserNamespace.CreateIdentityMappedAsync(runner, workspace.Directory, cancellationToken);
        var command = sandbox.Command("ansible-playbook", arguments);
        var result = await runner.RunAsync(HeldNamespace.Enter(command[0], command.Skip(1), userNamespace) with
        {
            Timeout = TimeSpan.FromHours(24),
            OutputLine = outputLine,
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

    /// <summary>Ends Ansible's ControlPersist masters, which would otherwise outlive the session until their sockets time out.</summary>
    private async Task StopControlMastersAsync(SessionWorkspace workspace)
    {
        if (workspace.ControlPathDirectory is not null && Directory.Exists(workspace.ControlPathDirectory))
        {
            await Task.WhenAll(Directory.EnumerateFileSystemEntries(workspace.ControlPathDirectory).Select(socket =>
                runner.RunAsync(new ProcessRequest("ssh", ["-o", $"ControlPath={socket}", "-O", "exit", "control-master"]) { Timeout = TimeSpan.FromSeconds(10) })));
        }
    }

    /// <summary>
    /// Ends the session's IMS jobs and key record, its SSH control masters, and deletes its
    /// directory (with its private keys). Each step runs even when an earlier one fails.
    /// </summary>
    private async Task CleanUpAsync(SessionWorkspace workspace, Action<string> log)
    {
        async Task Try(string what, Func<Task> step)
        {
            try
            {
                await step();
            }
            catch (Exception exception)
            {
                log($"Cleanup: could not {what}: {exception.Message}");
            }
        }
        await Try("end the IMS jobs", () => imageCustomization.CleanUpAsync(workspace, log));
        await Try("stop the SSH control masters", () => StopControlMastersAsync(workspace));
        foreach (var directory in new[] { workspace.Directory, workspace.ControlPathDirectory })
        {
            if (directory is not null)
            {
                await Try($"delete {directory}", () =>
                {
                    if (Directory.Exists(directory))
                    {
                        Directory.Delete(directory, recursive: true);
                    }
                    return Task.CompletedTask;
                });
            }
        }
    }

    private static async Task<T> PhaseAsync<T>(Action<string> log, string phase, Func<Task<T>> work)
    {
        log($"Phase {phase} started.");
        var stopwatch = Stopwatch.StartNew();
        var result = await work();
        log($"Phase {phase} finished in {Seconds(stopwatch.Elapsed)}.");
        // One series for all layers: layer names would make the label unbounded.
        SessionMetrics.PhaseDuration.Record(stopwatch.Elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("phase", phase.StartsWith("layer ", StringComparison.Ordinal) ? "layer" : phase));
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
