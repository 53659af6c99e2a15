using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Ims.Validation;

namespace Cray.Ims.Jobs;

public sealed record SshContainerRequest(string Name, bool Jail);

/// <summary>A packed layer to restore under a customize job's jail (ours): where it is stored and its md5.</summary>
public sealed record BaseLayerRequest(string Path, string Md5);

/// <summary>Ours: seal the jail's current layer, and store it packed at this path when one is given.</summary>
public sealed record LayerSeal(string? StorePath);

public sealed record JobCreate(
    string JobType,
    string ArtifactId,
    string PublicKeyId,
    string ImageRootArchiveName,
    bool EnableDebug,
    int BuildEnvSize,
    int JobMemSize,
    string? KernelFileName,
    string InitrdFileName,
    string KernelParametersFileName,
    IReadOnlyList<SshContainerRequest>? SshContainers,
    bool? RequireDkms,
    IReadOnlyList<BaseLayerRequest>? BaseLayers = null);

/// <summary>A PATCH of a job: only the status and the resultant image can change.</summary>
public sealed record JobPatch(string? Status, bool SetsResultantImage, string? ResultantImageId);

public sealed record JobDeleteFilter(IReadOnlyList<string> Statuses, string? JobType, TimeSpan? OlderThan);

/// <summary>A read that waits until the job has one of these statuses, for at most this long.</summary>
public sealed record JobWait(IReadOnlySet<string> Statuses, TimeSpan Timeout);

/// <summary>Parses job requests with the reference's checks and messages.</summary>
public static partial class JobRequests
{
    public const int DefaultBuildEnvSize = 60;
    public const int DefaultJobMemSize = 8;
    public const string DefaultInitrdFileName = "initrd";
    public const string DefaultKernelParametersFileName = "kernel-parameters";

    private static readonly string[] CreateFields =
    [
        "job_type", "artifact_id", "public_key_id", "image_root_archive_name", "enable_debug", "build_env_size", "job_mem_size",
        "kernel_file_name", "initrd_file_name", "kernel_parameters_file_name", "ssh_containers", "require_dkms", "base_layers",
    ];

    private static readonly string[] ContainerFields = ["name", "jail"];

    public static JobCreate ParseCreate(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        var errors = new FieldErrors();
        JsonFields.RejectUnknown(body, CreateFields, errors);
        var jobType = JsonFields.RequiredString(body, "job_type", errors);
        if (jobType is not null && !JobTypes.All.Contains(jobType))
        {
            errors.Add("job_type", "Job type must be one of: create, customize.");
        }
        var artifactId = RequiredUuid(body, "artifact_id", errors);
        var publicKeyId = RequiredUuid(body, "public_key_id", errors);
        var archiveName = JsonFields.RequiredNonBlank(body, "image_root_archive_name", errors);
        var enableDebug = JsonFields.OptionalBool(body, "enable_debug", errors) ?? false;
        var buildEnvSize = OptionalSize(body, "build_env_size", errors) ?? DefaultBuildEnvSize;
        var jobMemSize = OptionalSize(body, "job_mem_size", errors) ?? DefaultJobMemSize;
        var kernel = BootFileName(NullableString(body, "kernel_file_name", errors), "kernel_file_name", errors);
        var initrd = BootFileName(OptionalNonBlank(body, "initrd_file_name", errors), "initrd_file_name", errors) ?? DefaultInitrdFileName;
        var parameters = BootFileName(OptionalNonBlank(body, "kernel_parameters_file_name", errors), "kernel_parameters_file_name", errors)
            ?? DefaultKernelParametersFileName;
        var containers = ParseContainers(body["ssh_containers"], errors);
        var requireDkms = JsonFields.OptionalBool(body, "require_dkms", errors);
        var baseLayers = ParseBaseLayers(body["base_layers"], errors);
        if (baseLayers is { Count: > 0 } && jobType == JobTypes.Create)
        {
            errors.Add("base_layers", "base_layers can only be given for a customize job.");
        }
        errors.ThrowIfAny();
        return new JobCreate(jobType!, artifactId!, publicKeyId!, archiveName!, enableDebug, buildEnvSize, jobMemSize,
            string.IsNullOrEmpty(kernel) ? null : kernel, initrd, parameters, containers, requireDkms, baseLayers);
    }

    /// <summary>The most layers a job stacks: overlayfs's own limit is far above, the mount option's length is not.</summary>
    public const int MostLayers = 32;

    private static List<BaseLayerRequest>? ParseBaseLayers(JsonNode? node, FieldErrors errors)
    {
        if (node is null)
        {
            return null;
        }
        if (node is not JsonArray list)
        {
            errors.Add("base_layers", FieldErrors.NotAList);
            return null;
        }
        if (list.Count > MostLayers)
        {
            errors.Add("base_layers", $"At most {MostLayers} layers can be restored.");
            return null;
        }
        var layers = new List<BaseLayerRequest>();
        var listErrors = new FieldErrors();
        for (var index = 0; index < list.Count; index++)
        {
            var position = index.ToString(CultureInfo.InvariantCulture);
            if (list[index] is not JsonObject layer)
            {
                listErrors.Add(position, FieldErrors.NotAnObject);
                continue;
            }
            var layerErrors = new FieldErrors();
            JsonFields.RejectUnknown(layer, ["path", "md5"], layerErrors);
            var path = StoragePath(JsonFields.RequiredString(layer, "path", layerErrors), "path", layerErrors);
            var md5 = JsonFields.RequiredString(layer, "md5", layerErrors);
            if (md5 is not null && !Md5Pattern().IsMatch(md5))
            {
                layerErrors.Add("md5", "Not an md5 checksum (32 hexadecimal digits).");
            }
            listErrors.AddNested(position, layerErrors);
            if (path is not null && md5 is not null)
            {
                layers.Add(new BaseLayerRequest(path, md5.ToLowerInvariant()));
            }
        }
        errors.AddNested("base_layers", listErrors);
        return layers;
    }

    /// <summary>Ours: the body of POST /jobs/{id}/layers, <c>{}</c> or <c>{"store_path": "s3://bucket/key"}</c>.</summary>
    public static LayerSeal ParseLayerSeal(JsonObject? body)
    {
        if (body is null)
        {
            return new LayerSeal(null);
        }
        var errors = new FieldErrors();
        JsonFields.RejectUnknown(body, ["store_path"], errors);
        var path = body["store_path"] is null ? null : StoragePath(JsonFields.OptionalString(body, "store_path", errors), "store_path", errors);
        errors.ThrowIfAny();
        return new LayerSeal(path);
    }

    private static string? StoragePath(string? path, string field, FieldErrors errors)
    {
        if (path is not null && !Artifacts.ArtifactPath.TryParse(path, out _, out _))
        {
            errors.Add(field, "Not an artifact path of the form s3://bucket/key.");
            return null;
        }
        return path;
    }

    [GeneratedRegex("^[0-9a-fA-F]{32}$")]
    private static partial Regex Md5Pattern();

    public static JobPatch ParsePatch(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        var errors = new FieldErrors();
        JsonFields.RejectUnknown(body, ["status", "resultant_image_id"], errors);
        var status = JsonFields.OptionalString(body, "status", errors);
        if (status is not null && !JobStatuses.All.Contains(status))
        {
            errors.Add("status", $"Job state must be one of: {string.Join(", ", JobStatuses.All)}.");
        }
        else if (status == JobStatuses.SealingLayer)
        {
            errors.Add("status", "sealing_layer is set by POST /jobs/{id}/layers, which says which layer to seal; it cannot be set by a PATCH.");
        }
        string? resultant = null;
        var setsResultant = body.ContainsKey("resultant_image_id");
        if (setsResultant && body["resultant_image_id"] is not null)
        {
            resultant = JsonFields.OptionalString(body, "resultant_image_id", errors);
            if (resultant is not null && !JsonFields.IsUuid(resultant))
            {
                errors.Add("resultant_image_id", FieldErrors.NotAUuid);
            }
        }
        errors.ThrowIfAny();
        return new JobPatch(status, setsResultant, resultant);
    }

    /// <summary>Query filters of a bulk delete. Unlike the reference, an age that does not parse is a 400, not "every job".</summary>
    public static JobDeleteFilter ParseDeleteFilter(IReadOnlyList<string> statuses, IReadOnlyList<string> jobTypes, string? age)
    {
        foreach (var status in statuses)
        {
            if (!JobStatuses.All.Contains(status))
            {
                throw ImsProblems.BadRequest($"Unsupported status {status} in query parameters. Valid statuses: {string.Join(", ", JobStatuses.All)}.");
            }
        }
        if (jobTypes.Count > 1)
        {
            throw ImsProblems.BadRequest("Only one job_type may be given in query parameters.");
        }
        var jobType = jobTypes.Count == 1 ? jobTypes[0] : null;
        if (jobType is not null && !JobTypes.All.Contains(jobType))
        {
            throw ImsProblems.BadRequest($"Unsupported job_type {jobType} in query parameters. Valid job types: {string.Join(", ", JobTypes.All)}.");
        }
        TimeSpan? olderThan = null;
        if (age is not null)
        {
            olderThan = ParseAge(age) ?? throw ImsProblems.BadRequest(
                $"Unsupported age {age} in query parameters. Give a number and a unit, such as 30m, 6h, 1d or 2w.");
        }
        return new JobDeleteFilter(statuses, jobType, olderThan);
    }

    /// <summary>
    /// Ours: <c>?wait=waiting_on_user,error&amp;timeout=30</c> on a job read waits up to that many
    /// seconds (30 by default, at most 300) for one of the statuses. Null without <c>wait</c>.
    /// </summary>
    public static JobWait? ParseWait(string? wait, string? timeout)
    {
        if (wait is null)
        {
            return timeout is null ? null : throw ImsProblems.BadRequest("timeout is only taken with wait.");
        }
        var statuses = wait.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var unknown = statuses.Where(status => !JobStatuses.All.Contains(status)).ToList();
        if (statuses.Count == 0 || unknown.Count > 0)
        {
            throw ImsProblems.BadRequest($"Unsupported status {string.Join(", ", unknown.DefaultIfEmpty("(none)"))} in wait. Valid statuses: {string.Join(", ", JobStatuses.All)}.");
        }
        var seconds = 30;
        var longest = (int)JobService.LongestWait.TotalSeconds;
        if (timeout is not null && (!int.TryParse(timeout, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) || seconds < 1 || seconds > longest))
        {
            throw ImsProblems.BadRequest($"timeout must be a whole number of seconds from 1 to {longest}.");
        }
        return new JobWait(statuses, TimeSpan.FromSeconds(seconds));
    }

    /// <summary>Ages such as <c>45s</c>, <c>30m</c>, <c>6h</c>, <c>1d</c>, <c>2w</c>, or combinations such as <c>1d12h</c>.</summary>
    public static TimeSpan? ParseAge(string text)
    {
        var match = AgePattern().Match(text.Trim());
        if (!match.Success || match.Groups["part"].Captures.Count == 0)
        {
            return null;
        }
        var total = TimeSpan.Zero;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var value = long.Parse(part.Value[..^1], CultureInfo.InvariantCulture);
            total += char.ToLowerInvariant(part.Value[^1]) switch
            {
                's' => TimeSpan.FromSeconds(value),
                'm' => TimeSpan.FromMinutes(value),
                'h' => TimeSpan.FromHours(value),
                'd' => TimeSpan.FromDays(value),
                _ => TimeSpan.FromDays(7 * value),
            };
        }
        return total;
    }

    [GeneratedRegex("^(?<part>[0-9]{1,6}[smhdwSMHDW])+$")]
    private static partial Regex AgePattern();

    private static string? RequiredUuid(JsonObject body, string field, FieldErrors errors)
    {
        var text = JsonFields.RequiredString(body, field, errors);
        if (text is not null && !JsonFields.IsUuid(text))
        {
            errors.Add(field, FieldErrors.NotAUuid);
            return null;
        }
        return text;
    }

    private static string? NullableString(JsonObject body, string field, FieldErrors errors)
        => body[field] is null ? null : JsonFields.OptionalString(body, field, errors);

    /// <summary>Files the packager reads from the image's /boot: a name or a relative path that stays inside /boot.</summary>
    private static string? BootFileName(string? name, string field, FieldErrors errors)
    {
        if (string.IsNullOrEmpty(name))
        {
            return name;
        }
        if (name.StartsWith('/') || name.Contains('\0') || name.Split('/').Any(segment => segment is "" or "." or ".."))
        {
            errors.Add(field, $"{field} must be a file name in the image's /boot (a relative path without '.', '..' or empty segments).");
            return null;
        }
        return name;
    }

    private static string? OptionalNonBlank(JsonObject body, string field, FieldErrors errors)
    {
        var text = NullableString(body, field, errors);
        if (text is not null && string.IsNullOrWhiteSpace(text))
        {
            errors.Add(field, $"{field} field must not be blank");
            return null;
        }
        return text;
    }

    private static int? OptionalSize(JsonObject body, string field, FieldErrors errors)
    {
        if (!body.TryGetPropertyValue(field, out var node) || node is null)
        {
            return null;
        }
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number || !value.TryGetValue<int>(out var size))
        {
            errors.Add(field, "Not a valid integer.");
            return null;
        }
        if (size < 1)
        {
            // The reference gives this text for job_mem_size too.
            errors.Add(field, "build_env_size must be greater than or equal to 1");
            return null;
        }
        return size;
    }

    private static List<SshContainerRequest>? ParseContainers(JsonNode? node, FieldErrors errors)
    {
        if (node is null)
        {
            return null;
        }
        if (node is not JsonArray list)
        {
            errors.Add("ssh_containers", FieldErrors.NotAList);
            return null;
        }
        var containers = new List<SshContainerRequest>();
        var listErrors = new FieldErrors();
        for (var index = 0; index < list.Count; index++)
        {
            if (list[index] is not JsonObject container)
            {
                listErrors.Add(index.ToString(CultureInfo.InvariantCulture), FieldErrors.NotAnObject);
                continue;
            }
            var containerErrors = new FieldErrors();
            JsonFields.RejectUnknown(container, ContainerFields, containerErrors);
            var name = NullableString(container, "name", containerErrors);
            var jail = JsonFields.OptionalBool(container, "jail", containerErrors) ?? false;
            listErrors.AddNested(index.ToString(CultureInfo.InvariantCulture), containerErrors);
            containers.Add(new SshContainerRequest(string.IsNullOrWhiteSpace(name) ? "customize" : name, jail));
        }
        errors.AddNested("ssh_containers", listErrors);
        return containers;
    }
}
