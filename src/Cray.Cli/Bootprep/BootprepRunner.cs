using System.Diagnostics;
using System.Text.Json.Nodes;
using Cray.Cli.Common;
using Cray.Cli.Ims;
using Cray.Cli.Output;

namespace Cray.Cli.Bootprep;

/// <summary>How a run behaves beyond the plan.</summary>
public sealed record BootprepRunOptions(bool ResolveBranches, string? PublicKeyId, bool DeleteImsJobs, bool DebugOnFailure,
    string? SaveFilesDirectory, TimeSpan StepTimeout, TimeSpan SessionPollInterval);

/// <summary>
/// Carries out a plan: configurations first, then every image at once along its dependencies (an
/// image starts as soon as its base is made), each wait bounded; failures are reported per item
/// and never stop the items that do not depend on them.
/// </summary>
public sealed class BootprepRunner(BootprepServer server, BootprepProgress progress, BootprepRunOptions options)
{
    private readonly BootprepReport report = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> running = new(StringComparer.Ordinal);

    /// <summary>What runs on the server for this run now, with the command that stops it: what an interrupted run leaves.</summary>
    public IReadOnlyList<string> Running => [.. running.Values.Order(StringComparer.Ordinal)];
    private readonly HashSet<string> failedConfigurations = new(StringComparer.Ordinal);

    private sealed record ImageOutcome(bool Succeeded, string? FinalImageId);

    public async Task<BootprepReport> RunAsync(BootprepPlan plan, CancellationToken cancellationToken)
    {
        foreach (var step in plan.Configurations)
        {
            await StoreConfigurationAsync(step, cancellationToken);
        }
        var outcomes = new Dictionary<int, Task<ImageOutcome>>();
        foreach (var step in plan.Images)
        {
            var dependency = step.Dependency is { } index ? outcomes[index] : null;
            outcomes[step.Index] = MakeImageAsync(step, dependency, cancellationToken);
        }
        await Task.WhenAll(outcomes.Values);
        foreach (var template in plan.SessionTemplates)
        {
            report.Add(report.SkippedSessionTemplates, new JsonObject
            {
                ["name"] = template.Name,
                ["configuration"] = template.Configuration,
                ["reason"] = "this system has no boot service (BOS) to store session templates in",
            });
        }
        return report;
    }

    private async Task StoreConfigurationAsync(ConfigurationStep step, CancellationToken cancellationToken)
    {
        var name = step.Item.Name;
        var label = $"configuration {name}";
        if (step.Action == ExistingAction.Skip)
        {
            report.Add(report.SkippedConfigurations, new JsonObject { ["name"] = name, ["reason"] = "exists" });
            return;
        }
        progress.Update(label, step.Action == ExistingAction.Overwrite ? "overwriting" : "creating");
        var body = step.Item.RequestBody();
        try
        {
            await SaveAsync($"cfs-configuration-{name}.json", 0, body, cancellationToken);
            await server.PutConfigurationAsync(name, body, dropBranches: options.ResolveBranches, cancellationToken);
            report.Add(report.Configurations, new JsonObject { ["name"] = name, ["action"] = step.Action == ExistingAction.Overwrite ? "overwritten" : "created" });
            progress.Finish(label, step.Action == ExistingAction.Overwrite ? "overwritten" : "created");
        }
        catch (Exception exception) when (exception is CliException or IOException or UnauthorizedAccessException)
        {
            failedConfigurations.Add(name);
            report.Add(report.Configurations, new JsonObject { ["name"] = name, ["action"] = "failed", ["error"] = exception.Message });
            report.Fail($"configuration {name}: not stored: {exception.Message}");
            progress.Finish(label, "failed");
        }
    }

    private async Task<ImageOutcome> MakeImageAsync(ImageStep step, Task<ImageOutcome>? dependency, CancellationToken cancellationToken)
    {
        var item = step.Item;
        var label = $"image {step.Name}";
        if (step.Action == ExistingAction.Skip)
        {
            var row = BootprepReport.ImageRow(step.Name, null, step.ExistingId, item.Configuration, item.GroupNames);
            row["reason"] = "exists";
            report.Add(report.SkippedImages, row);
            return new ImageOutcome(true, step.ExistingId);
        }
        string? preconfigured = null;
        try
        {
            var baseId = step.BaseId;
            if (dependency is not null)
            {
                progress.Update(label, $"waiting for its base image {step.BaseName}");
                var baseOutcome = await dependency;
                if (!baseOutcome.Succeeded)
                {
                    return Failed(step, null, $"not made: its base image {step.BaseName} failed");
                }
                baseId = baseOutcome.FinalImageId;
            }
            if (item.Configuration is { } configuration && failedConfigurations.Contains(configuration))
            {
                return Failed(step, null, $"not made: its configuration {configuration} could not be stored");
            }
            var finalId = baseId;
            if (step.BaseKind == BaseKind.Recipe)
            {
                var (built, failure) = await BuildFromRecipeAsync(step, label, baseId!, cancellationToken);
                if (failure is not null)
                {
                    return Failed(step, null, failure);
                }
                finalId = built;
                if (item.Configuration is not null)
                {
                    preconfigured = built;
                }
            }
            if (item.Configuration is not null)
            {
                var (customized, failure) = await CustomizeAsync(step, label, finalId!, cancellationToken);
                if (failure is not null)
                {
                    return Failed(step, preconfigured, failure);
                }
                finalId = customized;
            }
            foreach (var replaced in step.ReplacedIds)
            {
                progress.Update(label, $"deleting the image it replaces ({replaced})");
                try
                {
                    await server.DeleteImageAsync(replaced, cancellationToken);
                }
                catch (CliException exception)
                {
                    // The new image is made and stands; only the old one is left over.
                    report.Fail($"image {step.Name}: made ({finalId}), but the image it replaces ({replaced}) was not deleted: {exception.Message}; " +
                        $"delete it with: cray ims images delete {replaced}");
                }
            }
            report.Add(report.Images, BootprepReport.ImageRow(step.Name, preconfigured, finalId, item.Configuration, item.GroupNames));
            progress.Finish(label, "done");
            return new ImageOutcome(true, finalId);
        }
        catch (Exception exception) when (exception is CliException or IOException or UnauthorizedAccessException)
        {
            return Failed(step, preconfigured, exception.Message);
        }
    }

    private ImageOutcome Failed(ImageStep step, string? preconfigured, string reason)
    {
        var row = BootprepReport.ImageRow(step.Name, preconfigured, null, step.Item.Configuration, step.Item.GroupNames);
        row["error"] = reason;
        report.Add(report.Images, row);
        report.Fail($"image {step.Name}: {reason}");
        progress.Finish($"image {step.Name}", "failed");
        return new ImageOutcome(false, null);
    }

    /// <summary>An IMS create job from the recipe; the built image's id, or why there is none.</summary>
    private async Task<(string? ImageId, string? Failure)> BuildFromRecipeAsync(ImageStep step, string label, string recipeId, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["job_type"] = "create",
            ["artifact_id"] = recipeId,
            ["public_key_id"] = options.PublicKeyId,
            ["image_root_archive_name"] = step.RecipeImageName,
        };
        await SaveAsync($"ims-job-{step.Name}.json", step.Index, body, cancellationToken);
        var job = await server.CreateJobAsync(body, cancellationToken);
        var jobId = (string)job["id"]!;
        return await WhileRunningAsync(jobId, $"IMS job {jobId} of image {step.Name} (stop it: cray ims jobs delete {jobId})",
            () => WaitForJobAsync(step, label, job, jobId, cancellationToken), cancellationToken);
    }

    /// <summary>Waits for work on the server, listed in <see cref="Running"/> meanwhile (and after, if the wait was interrupted).</summary>
    private async Task<T> WhileRunningAsync<T>(string key, string description, Func<Task<T>> wait, CancellationToken cancellationToken)
    {
        running[key] = description;
        try
        {
            return await wait();
        }
        finally
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                running.TryRemove(key, out _);
            }
        }
    }

    private async Task<(string? ImageId, string? Failure)> WaitForJobAsync(ImageStep step, string label, JsonObject job, string jobId, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var status = (string?)job["status"];
        while (status is not ("success" or "error"))
        {
            progress.Update(label, $"{status} (IMS job {jobId})");
            var left = options.StepTimeout - stopwatch.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                await server.DeleteJobAsync(jobId, cancellationToken);
                return (null, $"IMS job {jobId} did not end within {BootprepProgress.Duration(options.StepTimeout)} (--timeout); it was deleted");
            }
            job = await server.JobAsync(jobId, status, left < JobCommands.LongPoll ? left : JobCommands.LongPoll, cancellationToken);
            status = (string?)job["status"];
        }
        if (status == "error" || job["resultant_image_id"] is not JsonValue)
        {
            // Kept for debugging, as the reference keeps failed create jobs.
            return (null, $"IMS job {jobId} ended in error; see: cray ims jobs logs {jobId}");
        }
        if (options.DeleteImsJobs)
        {
            await server.DeleteJobAsync(jobId, cancellationToken);
        }
        return ((string)job["resultant_image_id"]!, null);
    }

    /// <summary>A CFS image session with one group per configuration group name; the result's id, or why there is none.</summary>
    private async Task<(string? ImageId, string? Failure)> CustomizeAsync(ImageStep step, string label, string imageId, CancellationToken cancellationToken)
    {
        var name = $"bootprep-{Guid.NewGuid():n}"[..21];
        var body = new JsonObject
        {
            ["name"] = name,
            ["configuration_name"] = step.Item.Configuration,
            ["target"] = new JsonObject
            {
                ["definition"] = "image",
                ["groups"] = new JsonArray([.. step.Item.GroupNames.Select(group => (JsonNode)new JsonObject
                {
                    ["name"] = group,
                    ["members"] = new JsonArray(imageId),
                })]),
                ["image_map"] = new JsonArray(new JsonObject { ["source_id"] = imageId, ["result_name"] = step.Name }),
            },
            ["debug_on_failure"] = options.DebugOnFailure,
        };
        await SaveAsync($"cfs-session-{step.Name}.json", step.Index, body, cancellationToken);
        await server.CreateSessionAsync(body, cancellationToken);
        return await WhileRunningAsync(name, $"CFS session {name} of image {step.Name} (stop it: cray cfs sessions delete {name})",
            () => WaitForSessionAsync(step, label, name, imageId, cancellationToken), cancellationToken);
    }

    private async Task<(string? ImageId, string? Failure)> WaitForSessionAsync(ImageStep step, string label, string name, string imageId, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var session = await server.SessionAsync(name, cancellationToken);
            var state = session["status"]?["session"];
            var status = (string?)state?["status"] ?? "pending";
            if (status == "complete")
            {
                if ((string?)state?["succeeded"] != "true")
                {
                    return (null, $"CFS session {name} failed; see: cray cfs sessions logs {name}");
                }
                var result = session["status"]?["artifacts"]?.AsArray().OfType<JsonObject>()
                    .FirstOrDefault(artifact => (string?)artifact["image_id"] == imageId)?["result_id"];
                return result is null
                    ? (null, $"CFS session {name} succeeded but names no result for image {imageId}; see: cray cfs sessions describe {name}")
                    : ((string)result!, null);
            }
            progress.Update(label, $"{status} (CFS session {name})");
            if (stopwatch.Elapsed >= options.StepTimeout)
            {
                await server.DeleteSessionAsync(name, cancellationToken);
                return (null, $"CFS session {name} did not complete within {BootprepProgress.Duration(options.StepTimeout)} (--timeout); it was deleted");
            }
            await Task.Delay(options.SessionPollInterval, cancellationToken);
        }
    }

    private async Task SaveAsync(string fileName, int itemNumber, JsonObject body, CancellationToken cancellationToken)
    {
        // The command made the directory before the run, so a bad one stops it before anything is created.
        if (options.SaveFilesDirectory is { } directory)
        {
            // Item names are the file's text: only safe characters reach the path, and a name that had others gets its item's number too, so two never share a file.
            var safeName = string.Concat(fileName.Select(character => char.IsAsciiLetterOrDigit(character) || character is '.' or '-' or '_' ? character : '_'));
            if (safeName != fileName)
            {
                safeName = $"{Path.GetFileNameWithoutExtension(safeName)}-{itemNumber}{Path.GetExtension(safeName)}";
            }
            await File.WriteAllTextAsync(Path.Combine(directory, safeName), OutputFormats.Render(body, OutputFormats.Json), cancellationToken);
        }
    }
}
