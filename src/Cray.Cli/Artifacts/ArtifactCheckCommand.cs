using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Artifacts;

/// <summary>
/// <c>cray artifacts check [--remove] [--min-age 1h]</c>: objects in IMS's layout that no IMS record refers
/// to, and records whose objects are gone. Only lists unless told to remove; never removes records.
/// </summary>
public static class ArtifactCheckCommand
{
    private static readonly (string Path, RecordKind Kind)[] RecordLists =
    [
        ("apis/ims/v3/images", RecordKind.Image),
        ("apis/ims/v3/deleted/images", RecordKind.DeletedImage),
        ("apis/ims/v3/recipes", RecordKind.Recipe),
        ("apis/ims/v3/deleted/recipes", RecordKind.DeletedRecipe),
    ];

    public static Command Create()
    {
        var remove = new Option<bool>("--remove") { Description = "Delete the unowned objects (without it, they are only listed)" };
        var minimumAge = new Option<string>("--min-age")
        {
            Description = "Leave unowned objects younger than this alone: they may belong to an import or a job still running",
            HelpName = "DURATION",
            DefaultValueFactory = _ => "1h",
        };
        return Leaf.Create("check", "List objects no IMS record refers to (and remove them with --remove), and records whose objects are missing", async (context, token) =>
        {
            var age = DurationText.Parse(context.Value(minimumAge), "--min-age")!.Value;
            var objects = await ListObjectsAsync(context, token);
            var present = objects.Select(stored => stored.S3Path).ToHashSet(StringComparer.Ordinal);
            var records = new List<OwningRecord>();
            foreach (var (path, kind) in RecordLists)
            {
                foreach (var record in (await context.Api.SendAsync(HttpMethod.Get, path, cancellationToken: token))?.AsArray() ?? [])
                {
                    var link = (string?)record?["link"]?["path"];
                    var manifestPaths = kind is RecordKind.Image or RecordKind.DeletedImage && link is not null && present.Contains(link)
                        ? await ManifestPathsAsync(context, link, token)
                        : null;
                    records.Add(new OwningRecord(kind, (string)record!["id"]!, link, manifestPaths));
                }
            }
            var report = ArtifactOwnership.Judge(objects, records, DateTimeOffset.UtcNow, age);
            var removing = context.ParseResult.GetValue(remove);
            if (removing)
            {
                foreach (var stored in report.Unowned)
                {
                    await context.Api.SendAsync(HttpMethod.Delete, ArtifactTransfers.ObjectPath(stored.Bucket, stored.Key), cancellationToken: token);
                    context.Log($"Removed {stored.S3Path}");
                }
            }
            return new JsonObject
            {
                ["unowned"] = new JsonArray([.. report.Unowned.Select(stored => (JsonNode)new JsonObject
                {
                    ["bucket"] = stored.Bucket,
                    ["key"] = stored.Key,
                    ["size"] = stored.Size,
                    ["last_modified"] = stored.LastModified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture),
                })]),
                ["removed"] = removing,
                ["records_missing_objects"] = new JsonArray([.. report.RecordsMissingObjects.Select(record => (JsonNode)new JsonObject
                {
                    ["kind"] = KindName(record.Kind),
                    ["id"] = record.Id,
                    ["missing"] = new JsonArray([.. record.Missing.Select(path => (JsonNode)JsonValue.Create(path))]),
                })]),
                ["unowned_younger_than_min_age"] = report.RecentUnowned,
                ["outside_ims_layout"] = report.OutsideImsLayout,
            };
        }, remove, minimumAge);
    }

    private static string KindName(RecordKind kind) => kind switch
    {
        RecordKind.Image => "image",
        RecordKind.DeletedImage => "deleted image",
        RecordKind.Recipe => "recipe",
        _ => "deleted recipe",
    };

    private static async Task<List<StoredObject>> ListObjectsAsync(CliContext context, CancellationToken token)
    {
        var buckets = (await context.Api.SendAsync(HttpMethod.Get, ArtifactTransfers.Base, cancellationToken: token))?.AsArray()
            .Select(bucket => (string?)bucket?["name"]).ToHashSet() ?? [];
        var objects = new List<StoredObject>();
        foreach (var bucket in new[] { ArtifactTransfers.BootImagesBucket, ArtifactTransfers.ImsBucket }.Where(buckets.Contains))
        {
            var listing = await context.Api.SendAsync(HttpMethod.Get, $"{ArtifactTransfers.Base}/{bucket}", cancellationToken: token);
            objects.AddRange((listing?.AsArray() ?? []).Select(entry => new StoredObject(
                bucket,
                (string)entry!["Key"]!,
                (long?)entry["Size"] ?? 0,
                DateTimeOffset.Parse((string)entry["LastModified"]!, CultureInfo.InvariantCulture))));
        }
        return objects;
    }

    /// <summary>The paths an image's manifest lists, or null when it is not a manifest this check can read.</summary>
    private static async Task<IReadOnlyList<string>?> ManifestPathsAsync(CliContext context, string link, CancellationToken token)
    {
        var withoutScheme = link["s3://".Length..];
        var slash = withoutScheme.IndexOf('/', StringComparison.Ordinal);
        var manifest = await context.Api.SendAsync(HttpMethod.Get, ArtifactTransfers.ObjectPath(withoutScheme[..slash], withoutScheme[(slash + 1)..]), cancellationToken: token);
        if (manifest is not JsonObject { } document || document["artifacts"] is not JsonArray artifacts)
        {
            return null;
        }
        var paths = artifacts.Select(artifact => artifact?["link"]?["path"]).OfType<JsonValue>().Select(path => (string?)path).OfType<string>().ToList();
        return paths.Count == artifacts.Count ? paths : null;
    }
}
