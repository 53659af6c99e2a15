using System.Text.RegularExpressions;

namespace Cray.Cli.Artifacts;

/// <summary>An object as the artifact repository lists it.</summary>
public sealed record StoredObject(string Bucket, string Key, long Size, DateTimeOffset LastModified)
{
    public string S3Path => $"s3://{Bucket}/{Key}";
}

/// <summary>What kind of IMS record owns objects, and where IMS keeps that kind's objects.</summary>
public enum RecordKind
{
    Image,
    DeletedImage,
    Recipe,
    DeletedRecipe,
}

/// <summary>
/// An IMS record and the objects it refers to: its link and, for images, the paths its manifest lists
/// (null when the manifest could not be read).
/// </summary>
public sealed record OwningRecord(RecordKind Kind, string Id, string? LinkPath, IReadOnlyList<string>? ManifestPaths);

public sealed record RecordMissingObjects(RecordKind Kind, string Id, IReadOnlyList<string> Missing);

public sealed record OwnershipReport(
    IReadOnlyList<StoredObject> Unowned,
    IReadOnlyList<RecordMissingObjects> RecordsMissingObjects,
    int RecentUnowned,
    int OutsideImsLayout);

/// <summary>
/// Ties the objects in IMS's layout to the records that refer to them. Only keys where IMS puts
/// objects are judged (<c>boot-images/&lt;id&gt;/…</c>, <c>ims/recipes/&lt;id&gt;/…</c> and their
/// <c>deleted/</c> twins): other objects are someone else's. Nothing is called unowned that may be
/// work in progress: a record with no link yet (an import or a job's result being uploaded) keeps
/// everything under its id, as does one whose manifest cannot be read, and objects younger than the
/// minimum age are only counted.
/// </summary>
public static partial class ArtifactOwnership
{
    public static OwnershipReport Judge(IReadOnlyList<StoredObject> objects, IReadOnlyList<OwningRecord> records, DateTimeOffset now, TimeSpan minimumAge)
    {
        var existing = objects.Select(stored => stored.S3Path).ToHashSet(StringComparer.Ordinal);
        var owned = new HashSet<string>(StringComparer.Ordinal);
        var ownedIds = new HashSet<(string Bucket, string Id)>();
        var missing = new List<RecordMissingObjects>();
        foreach (var record in records)
        {
            var idKey = (Bucket(record.Kind), record.Id);
            if (record.LinkPath is null)
            {
                ownedIds.Add(idKey);
                continue;
            }
            var referenced = new List<string> { record.LinkPath };
            if (record.Kind is RecordKind.Image or RecordKind.DeletedImage)
            {
                if (record.ManifestPaths is null)
                {
                    ownedIds.Add(idKey);
                }
                else
                {
                    referenced.AddRange(record.ManifestPaths);
                }
            }
            owned.UnionWith(referenced);
            var absent = referenced.Where(path => !existing.Contains(path)).Distinct().ToList();
            if (absent.Count > 0)
            {
                missing.Add(new RecordMissingObjects(record.Kind, record.Id, absent));
                ownedIds.Add(idKey);
            }
        }

        var unowned = new List<StoredObject>();
        var recent = 0;
        var outside = 0;
        foreach (var stored in objects)
        {
            if (IdOf(stored) is not { } id)
            {
                outside++;
            }
            else if (!owned.Contains(stored.S3Path) && !ownedIds.Contains((stored.Bucket, id)))
            {
                if (now - stored.LastModified >= minimumAge)
                {
                    unowned.Add(stored);
                }
                else
                {
                    recent++;
                }
            }
        }
        return new OwnershipReport(unowned, missing, recent, outside);
    }

    private static string Bucket(RecordKind kind) => kind is RecordKind.Image or RecordKind.DeletedImage ? ArtifactTransfers.BootImagesBucket : ArtifactTransfers.ImsBucket;

    /// <summary>The record id an object's key belongs to in IMS's layout, or null when the key is outside it.</summary>
    private static string? IdOf(StoredObject stored)
    {
        var match = stored.Bucket switch
        {
            ArtifactTransfers.BootImagesBucket => ImageKey().Match(stored.Key),
            ArtifactTransfers.ImsBucket => RecipeKey().Match(stored.Key),
            _ => Match.Empty,
        };
        return match.Success ? match.Groups["id"].Value : null;
    }

    [GeneratedRegex("^(?:deleted/)?(?<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/", RegexOptions.CultureInvariant)]
    private static partial Regex ImageKey();

    [GeneratedRegex("^(?:deleted/)?recipes/(?<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/", RegexOptions.CultureInvariant)]
    private static partial Regex RecipeKey();
}
