using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Cfs.Model;

namespace Cray.Cfs.Sessions;

public sealed record SessionCreate(
    string Name,
    string ConfigurationName,
    string ConfigurationLimit,
    string? AnsibleLimit,
    string? AnsibleConfig,
    int AnsibleVerbosity,
    string? AnsiblePassthrough,
    SessionTarget Target,
    IReadOnlyDictionary<string, string> Tags,
    bool DebugOnFailure,
    bool AllowsDebugConfigurations,
    bool? LayerCache = null);

/// <summary>
/// A PATCH of a session's status in the stored names: null fields are not given. v3 refuses to set
/// a job that is already set (<see cref="JobIsSetOnce"/>).
/// </summary>
public sealed record SessionPatch(
    IReadOnlyList<SessionArtifact> Artifacts,
    string? Job,
    string? ImsJob,
    string? Status,
    string? Succeeded,
    string? StartTime,
    string? CompletionTime,
    bool JobIsSetOnce);

/// <summary>The filters of a session list or delete-many, as query parameters.</summary>
public sealed record SessionFilter(
    string? Status,
    string? Succeeded,
    string? NameContains,
    TimeSpan? MinAge,
    TimeSpan? MaxAge,
    IReadOnlyDictionary<string, string>? Tags);

/// <summary>Reads session requests with the reference schema's rules, in v2 (camelCase) or v3 (snake_case) names.</summary>
public static partial class SessionRequests
{
    public const int MaximumNameLength = 45;
    public const int MaximumConfigurationNameLength = 60;

    public static SessionCreate ParseCreate(JsonNode? body, CfsApiVersion version)
    {
        var reader = SchemaReader.Of(body, "");
        var v3 = version == CfsApiVersion.V3;
        string Key(string snake, string camel) => v3 ? snake : camel;
        var fields = new List<string>
        {
            "name", Key("configuration_name", "configurationName"), Key("configuration_limit", "configurationLimit"),
            Key("ansible_limit", "ansibleLimit"), Key("ansible_config", "ansibleConfig"), Key("ansible_verbosity", "ansibleVerbosity"),
            Key("ansible_passthrough", "ansiblePassthrough"), "target", "tags", Key("layer_cache", "layerCache"),
        };
        if (v3)
        {
            fields.Add("debug_on_failure");
        }
        reader.Only(fields);
        reader.Require("name", Key("configuration_name", "configurationName"));
        var name = reader.String("name", 1, MaximumNameLength, NamePattern())!;
        var configurationName = reader.String(Key("configuration_name", "configurationName"), v3 ? 1 : 0, v3 ? MaximumConfigurationNameLength : int.MaxValue)!;
        var configurationLimit = reader.String(Key("configuration_limit", "configurationLimit"), nullable: true) ?? "";
        var ansibleLimit = reader.String(Key("ansible_limit", "ansibleLimit"), pattern: NoSpaceOrSemicolon(), nullable: true);
        var ansibleConfig = reader.String(Key("ansible_config", "ansibleConfig"), maxLength: AnsibleConfigNames.MaximumLength, pattern: AnsibleConfigNames.Pattern(), nullable: true);
        var verbosity = reader.Integer(Key("ansible_verbosity", "ansibleVerbosity"), 0, 4) ?? 0;
        var passthrough = reader.String(Key("ansible_passthrough", "ansiblePassthrough"), nullable: true);
        var target = ParseTarget(reader.Object("target"));
        var tags = reader.StringMap("tags") ?? new Dictionary<string, string>();
        var debugOnFailure = v3 && (reader.Boolean("debug_on_failure") ?? false);
        var layerCache = reader.Boolean(Key("layer_cache", "layerCache"));
        // v3 stores unset strings as "", v2 as null: the shapes the reference answers with.
        return new SessionCreate(name, configurationName, configurationLimit,
            ansibleLimit ?? (v3 ? "" : null), ansibleConfig, verbosity, passthrough ?? (v3 ? "" : null), target, tags, debugOnFailure,
            AllowsDebugConfigurations: v3, layerCache);
    }

    /// <summary>Reads a status PATCH: only <c>status</c> may change after a session is created.</summary>
    public static SessionPatch ParsePatch(JsonNode? body, CfsApiVersion version)
    {
        var reader = SchemaReader.Of(body, "");
        if (reader.Body.Any(pair => pair.Key != "status"))
        {
            throw CfsProblems.BadRequest("Bad Request", "Only status can be updated after session creation");
        }
        var status = reader.Object("status");
        status?.Only(["artifacts", "session"]);
        var artifacts = status?.Array("artifacts", (node, path) =>
        {
            var artifact = SchemaReader.Of(node, path).Only(["image_id", "result_id", "type"]);
            return new SessionArtifact(artifact.String("image_id", nullable: true), artifact.String("result_id", nullable: true), artifact.String("type", nullable: true));
        }) ?? [];
        var progress = status?.Object("session");
        var v3 = version == CfsApiVersion.V3;
        progress?.Only(v3
            ? ["job", "ims_job", "status", "succeeded", "start_time", "completion_time"]
            : ["job", "status", "succeeded", "startTime", "completionTime"]);
        return new SessionPatch(
            artifacts,
            Job: progress?.String("job", nullable: true),
            ImsJob: v3 ? progress?.String("ims_job", nullable: true) : null,
            Status: progress?.Enum("status", SessionStates.Order),
            Succeeded: progress?.Enum("succeeded", SessionResults.Order),
            StartTime: progress?.String(v3 ? "start_time" : "startTime", nullable: true),
            CompletionTime: progress?.String(v3 ? "completion_time" : "completionTime", nullable: true),
            JobIsSetOnce: v3);
    }

    private static SessionTarget ParseTarget(SchemaReader? target)
    {
        if (target is null)
        {
            return new SessionTarget(TargetDefinitions.Dynamic, null, null);
        }
        target.Only(["definition", "groups", "image_map"]);
        var definition = target.Enum("definition", TargetDefinitions.All) ?? TargetDefinitions.Dynamic;
        var groups = target.Array("groups", (node, path) =>
        {
            var group = SchemaReader.Of(node, path).Only(["name", "members"]);
            group.Require("name");
            var members = group.Array("members", (member, memberPath) => SchemaReader.Of(new JsonObject { ["m"] = member?.DeepClone() }, memberPath).String("m")!)
                ?? [];
            // A group without "members" is judged by the target rules, with the reference's own message.
            return (Group: new TargetGroup(group.String("name")!, members), HasMembers: group.Has("members"));
        });
        if (groups?.Any(group => !group.HasMembers) == true)
        {
            throw CfsProblems.BadRequest("Bad Request", "Groups must be an object with the members property.");
        }
        var imageMap = target.Array("image_map", (node, path) =>
        {
            var mapping = SchemaReader.Of(node, path).Only(["source_id", "result_name"]);
            mapping.Require("source_id", "result_name");
            return new ImageMapping(mapping.String("source_id")!, mapping.String("result_name")!);
        });
        return new SessionTarget(definition, groups?.Select(group => group.Group).ToList(), imageMap);
    }

    /// <summary>The target rules of the reference, checked after the configuration exists.</summary>
    public static void CheckTarget(SessionTarget target)
    {
        var groups = target.Groups ?? [];
        if (target.Definition == TargetDefinitions.Dynamic && groups.Count == 0)
        {
            throw CfsProblems.BadRequest("Bad Request",
                "The 'dynamic' target builds its inventory from a hardware inventory (HSM), which this system does not have yet. "
                + "Use --target-definition image (or spec) with --target-group NAME MEMBERS.");
        }
        if (target.Definition is TargetDefinitions.Repo or TargetDefinitions.Dynamic && groups.Count > 0)
        {
            throw CfsProblems.BadRequest("Bad Request", $"'{target.Definition}' target definitions must not contain groups specifications.");
        }
        if (target.Definition is not (TargetDefinitions.Spec or TargetDefinitions.Image))
        {
            return;
        }
        if (groups.Count == 0)
        {
            throw CfsProblems.BadRequest("Bad Request", "At least one target group must be specified.");
        }
        if (groups.Any(group => group.Members.Count == 0))
        {
            throw CfsProblems.BadRequest("Bad Request", "Group member lists must not be empty.");
        }
        if (groups.Any(group => group.Members.Any(member => member.Length == 0)))
        {
            throw CfsProblems.BadRequest("Bad Request", "Group members must not be blank.");
        }
        if (target.Definition == TargetDefinitions.Image)
        {
            var invalid = groups.SelectMany(group => group.Members.Where(member => !IsUuid(member)).Select(member => $"('{group.Name}', '{member}')")).ToList();
            if (invalid.Count > 0)
            {
                throw CfsProblems.BadRequest("Bad Request", $"The following Image target group members are not valid UUIDs: [{string.Join(", ", invalid)}].");
            }
        }
    }

    /// <summary>Any textual UUID form Python's uuid.UUID accepts: hex with or without dashes, braces or a urn prefix.</summary>
    public static bool IsUuid(string text)
    {
        var hex = text.Trim();
        if (hex.StartsWith("urn:uuid:", StringComparison.OrdinalIgnoreCase))
        {
            hex = hex["urn:uuid:".Length..];
        }
        hex = hex.Trim('{', '}').Replace("-", "", StringComparison.Ordinal);
        return hex.Length == 32 && hex.All(Uri.IsHexDigit);
    }

    /// <summary>Reads list/delete filters; <paramref name="defaultStatus"/> is "complete" for delete-many.</summary>
    public static SessionFilter ParseFilter(Func<string, string?> query, CfsApiVersion version, string? defaultStatus = null)
    {
        var status = query("status") ?? defaultStatus;
        var succeeded = query("succeeded");
        var allowEmpty = version == CfsApiVersion.V3;
        if (status is not null && !(status.Length == 0 && allowEmpty) && !SessionStates.Order.Contains(status))
        {
            throw CfsProblems.Schema($"'{status}' is not one of ['pending', 'running', 'complete']", "status");
        }
        if (succeeded is not null && !(succeeded.Length == 0 && allowEmpty) && !SessionResults.Order.Contains(succeeded))
        {
            throw CfsProblems.Schema($"'{succeeded}' is not one of ['none', 'true', 'false', 'unknown']", "succeeded");
        }
        var minAge = ParseAge(query("min_age") ?? (version == CfsApiVersion.V2 ? query("age") : null));
        var maxAge = ParseAge(query("max_age"));
        var tagsText = query("tags");
        Dictionary<string, string>? tags = null;
        if (!string.IsNullOrEmpty(tagsText))
        {
            tags = [];
            foreach (var pair in tagsText.Split(','))
            {
                var parts = pair.Split('=');
                if (parts.Length != 2)
                {
                    throw CfsProblems.BadRequest("Error parsing the tags provided.", $"The tag '{pair}' is not key=value; give tags as key=value[,key2=value2].");
                }
                tags[parts[0]] = parts[1];
            }
        }
        return new SessionFilter(string.IsNullOrEmpty(status) ? null : status, string.IsNullOrEmpty(succeeded) ? null : succeeded,
            string.IsNullOrEmpty(query("name_contains")) ? null : query("name_contains"), minAge, maxAge, tags);
    }

    /// <summary>An age such as 30m, 6h, 1d or 2w (unlike the reference, anything else is a 400 rather than zero).</summary>
    public static TimeSpan? ParseAge(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        var match = AgePattern().Match(text);
        if (!match.Success)
        {
            throw CfsProblems.BadRequest("Error parsing age field", $"'{text}' is not an age: give a number and one of m, h, d or w, such as 6h or 1d.");
        }
        var value = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return char.ToLowerInvariant(match.Groups[2].Value[0]) switch
        {
            'm' => TimeSpan.FromMinutes(value),
            'h' => TimeSpan.FromHours(value),
            'd' => TimeSpan.FromDays(value),
            _ => TimeSpan.FromDays(7 * value),
        };
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    public static partial Regex NamePattern();

    [GeneratedRegex("^[^\\s;]*$")]
    public static partial Regex NoSpaceOrSemicolon();

    [GeneratedRegex("^([0-9]{1,9})([mMhHdDwW])$")]
    private static partial Regex AgePattern();
}
