using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Ims;

/// <summary><c>cray ims jobs …</c>: the reference's commands, plus <c>logs</c> and <c>wait</c>.</summary>
public static class JobCommands
{
    private const string Jobs = $"{ImsCommands.Base}/jobs";

    public static Command Build()
    {
        var jobs = Leaf.Group("jobs", "IMS jobs");
        jobs.Subcommands.Add(Leaf.Create("list", "List every job",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, Jobs, cancellationToken: token)));

        var describeId = new Argument<string>("JOB_ID");
        jobs.Subcommands.Add(Leaf.Create("describe", "Show one job",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Jobs}/{ImsCommands.Escape(context.ParseResult.GetValue(describeId)!)}", cancellationToken: token),
            describeId));

        var deleteId = new Argument<string>("JOB_ID");
        jobs.Subcommands.Add(Leaf.Create("delete", "Delete a job, stopping it first if it runs",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{Jobs}/{ImsCommands.Escape(context.ParseResult.GetValue(deleteId)!)}", cancellationToken: token),
            deleteId));

        var status = new Option<string>("--status") { Description = "Only jobs with this status", HelpName = "STATUS" };
        status.AcceptOnlyFromAmong("creating", "fetching_image", "fetching_recipe", "waiting_for_repos", "building_image",
            "packaging_artifacts", "waiting_on_user", "sealing_layer", "error", "success");
        var jobType = new Option<string>("--job-type") { Description = "Only jobs of this type", HelpName = "JOB_TYPE" };
        jobType.AcceptOnlyFromAmong("create", "customize");
        var age = new Option<string>("--age") { Description = "Only jobs older than this, e.g. 30m, 6h, 1d, 2w", HelpName = "AGE" };
        jobs.Subcommands.Add(Leaf.Create("deleteall", "Delete every job that matches the filters (all jobs without filters)",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, Jobs,
                query: [new("status", context.Value(status)), new("job_type", context.Value(jobType)), new("age", context.Value(age))], cancellationToken: token),
            status, jobType, age));

        jobs.Subcommands.Add(Create());
        jobs.Subcommands.Add(Logs());
        jobs.Subcommands.Add(Wait());
        return jobs;
    }

    private static Command Create()
    {
        var jobType = new Option<string>("--job-type") { Description = "create or customize", Required = true, HelpName = "JOB_TYPE" };
        jobType.AcceptOnlyFromAmong("create", "customize");
        var artifactId = new Option<string>("--artifact-id") { Description = "Image id to customize (recipe id for create)", Required = true, HelpName = "ID" };
        var publicKeyId = new Option<string>("--public-key-id") { Description = "Public key id allowed to log in", Required = true, HelpName = "ID" };
        var archiveName = new Option<string>("--image-root-archive-name") { Description = "Name of the resulting image", Required = true, HelpName = "NAME" };
        var kernel = new Option<string>("--kernel-file-name") { Description = "Kernel file name in /boot (default vmlinuz, Image on aarch64)", HelpName = "NAME" };
        var initrd = new Option<string>("--initrd-file-name") { Description = "Initrd file name in /boot", HelpName = "NAME", DefaultValueFactory = _ => "initrd" };
        var parameters = new Option<string>("--kernel-parameters-file-name")
        {
            Description = "Kernel parameters file name in /boot",
            HelpName = "NAME",
            DefaultValueFactory = _ => "kernel-parameters",
        };
        var enableDebug = TypedOptions.Boolean("--enable-debug", "Keep a debug shell when a create job fails");
        var buildEnvSize = TypedOptions.Integer("--build-env-size", "Build environment size in GiB", minimum: 1);
        var jobMemSize = TypedOptions.Integer("--job-mem-size", "Job memory in GiB", minimum: 1);
        var requireDkms = TypedOptions.Boolean("--require-dkms", "Mount /proc, /sys and /dev in the image root while it is served");
        var containerNames = new Option<string>("--ssh-containers-name") { Description = "SSH container names, comma separated", HelpName = "TEXT" };
        var containerJails = new Option<string>("--ssh-containers-jail") { Description = "Whether each SSH container is jailed, comma separated booleans", HelpName = "TEXT" };

        return Leaf.Create("create", "Create a job", (context, token) =>
        {
            var body = new JsonObject
            {
                ["job_type"] = context.Value(jobType),
                ["artifact_id"] = context.Value(artifactId),
                ["public_key_id"] = context.Value(publicKeyId),
                ["image_root_archive_name"] = context.Value(archiveName),
                // The reference always sends these two, with their defaults.
                ["initrd_file_name"] = context.Value(initrd),
                ["kernel_parameters_file_name"] = context.Value(parameters),
            };
            AddIfSet(body, "kernel_file_name", context.Value(kernel));
            AddIfSet(body, "enable_debug", context.Value(enableDebug));
            AddIfSet(body, "build_env_size", context.Value(buildEnvSize));
            AddIfSet(body, "job_mem_size", context.Value(jobMemSize));
            AddIfSet(body, "require_dkms", context.Value(requireDkms));
            var containers = ZipContainers(context.Value(containerNames), context.Value(containerJails));
            if (containers is not null)
            {
                body["ssh_containers"] = containers;
            }
            return context.Api.SendAsync(HttpMethod.Post, Jobs, body, cancellationToken: token);
        }, jobType, archiveName, artifactId, publicKeyId, kernel, initrd, parameters, enableDebug, buildEnvSize, jobMemSize, requireDkms,
            containerNames, containerJails);
    }

    /// <summary><c>ssh_containers[{name, jail}]</c> from the two comma lists.</summary>
    internal static JsonArray? ZipContainers(string? names, string? jails)
        => ZippedLists.Zip(
            ZippedField.Strings("--ssh-containers-name", "name", names),
            ZippedField.Booleans("--ssh-containers-jail", "jail", jails));

    private static Command Logs()
        => LogCommand.Create("Print a job's log (what the reference shows with kubectl logs)", "JOB_ID", "Keep printing until the job ends",
            id => $"{Jobs}/{id}/log");

    /// <summary>How long one read waits in the server for the job to change.</summary>
    internal static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(30);

    /// <summary>Every job status, as the reference's schema lists them, and ours: sealing_layer (a layered job between two layers).</summary>
    private static readonly string[] JobStatusNames =
        ["creating", "fetching_image", "fetching_recipe", "waiting_for_repos", "building_image", "packaging_artifacts", "waiting_on_user", "sealing_layer", "error", "success"];

    /// <summary>The query of a job read the server answers as soon as the status is not <paramref name="seen"/>, or after <paramref name="bound"/> (at least 1 s).</summary>
    internal static KeyValuePair<string, string?>[] LongPollQuery(string? seen, TimeSpan bound) =>
    [
        new("wait", string.Join(',', JobStatusNames.Where(name => name != seen))),
        new("timeout", ((int)Math.Ceiling(Math.Max(1, bound.TotalSeconds))).ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    private static Command Wait()
    {
        var id = new Argument<string>("JOB_ID");
        var timeout = new Option<string>("--timeout") { Description = "Give up after this long, e.g. 30m or 2h (default: no limit)", HelpName = "DURATION" };
        var until = new Option<string>("--until")
        {
            Description = "Stop waiting at this status instead of the end (e.g. waiting_on_user)",
            HelpName = "STATUS",
        };
        return Leaf.Create("wait", "Wait for a job to end (or reach --until), showing its status; exits non-zero on error", async (context, token) =>
        {
            var jobId = ImsCommands.Escape(context.ParseResult.GetValue(id)!);
            var limit = DurationText.Parse(context.Value(timeout), "--timeout");
            var target = context.Value(until);
            var stopwatch = Stopwatch.StartNew();
            string? shown = null;
            JsonNode? job;
            while (true)
            {
                // Each read waits in the server for any other status (a server without that answers at once; the loop then paces itself).
                var asked = Stopwatch.StartNew();
                var bound = limit is null ? LongPoll : TimeSpan.FromSeconds(Math.Clamp((limit.Value - stopwatch.Elapsed).TotalSeconds, 1, LongPoll.TotalSeconds));
                job = await context.Api.SendAsync(HttpMethod.Get, $"{Jobs}/{jobId}", query: LongPollQuery(shown, bound), cancellationToken: token);
                var status = job?["status"]?.GetValue<string>() ?? "unknown";
                var changed = status != shown;
                if (changed)
                {
                    context.Log($"[{stopwatch.Elapsed:hh\\:mm\\:ss}] {status}");
                    shown = status;
                }
                if (status is "success" or "error" || status == target)
                {
                    break;
                }
                if (limit is not null && stopwatch.Elapsed > limit)
                {
                    throw new CliException($"Timed out after {limit} waiting for job {jobId}; it is {status}.", exitCode: 1);
                }
                if (!changed && asked.Elapsed < TimeSpan.FromSeconds(1))
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), token);
                }
            }
            CliHost.Current.Out.Write(Output.OutputFormats.Render(job, context.Format));
            if ((string?)job?["status"] == "error" && target != "error")
            {
                throw new CliException($"Job {jobId} ended in error; see: cray ims jobs logs {jobId}", exitCode: 1);
            }
            return Leaf.NoOutput;
        }, id, timeout, until);
    }

    private static void AddIfSet<T>(JsonObject body, string name, T? value)
    {
        if (value is not null)
        {
            body[name] = JsonValue.Create(value);
        }
    }
}
