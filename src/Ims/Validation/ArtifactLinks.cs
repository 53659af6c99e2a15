using System.Text.Json.Nodes;
using Cray.Artifacts;
using Cray.Ims.Model;
using Cray.Platform.Problems;

namespace Cray.Ims.Validation;

/// <summary>The rules for an artifact link that images and recipes share: its shape, its object, its uniqueness and how a PATCH may change it.</summary>
public static class ArtifactLinks
{
    /// <summary>A soft-deleted record's objects move under this prefix in their own bucket, so that undelete can move them back.</summary>
    public const string DeletedPrefix = "deleted/";

    private static readonly string[] LinkFields = ["path", "etag", "type"];

    public static string CannotValidate(string path)
        => $"The s3 artifact {path} cannot be validated. Please determine the specific information that is missing or invalid and then re-run the request with valid information.";

    public static ArtifactLink? Parse(JsonNode? node, FieldErrors errors)
    {
        if (node is not JsonObject link)
        {
            errors.Add("link", FieldErrors.NotAnObject);
            return null;
        }
        var linkErrors = new FieldErrors();
        JsonFields.RejectUnknown(link, LinkFields, linkErrors);
        var path = JsonFields.RequiredNonBlank(link, "path", linkErrors);
        var type = JsonFields.RequiredString(link, "type", linkErrors);
        if (type is not null && type != ArtifactLink.S3Type)
        {
            linkErrors.Add("type", "Type must be one of: s3.");
        }
        var etag = link["etag"] is null ? null : JsonFields.OptionalString(link, "etag", linkErrors);
        errors.AddNested("link", linkErrors);
        return linkErrors.Any ? null : ArtifactLink.S3(path!, etag);
    }

    /// <summary>The stored object a link names: a 422 when the path is not an S3 address or nothing is stored there.</summary>
    public static async Task<ArtifactObject> RequireObjectAsync(IArtifactStore artifacts, ArtifactLink link, CancellationToken cancellationToken)
    {
        if (!ArtifactPath.TryParse(link.Path, out var bucket, out var key))
        {
            throw FieldErrors.Invalid(new JsonObject { ["link"] = new JsonObject { ["path"] = new JsonArray($"'{link.Path}' is not an s3://bucket/key address.") } });
        }
        return await artifacts.HeadAsync(bucket, key, cancellationToken) ?? throw ImsProblems.Unprocessable(CannotValidate(link.Path));
    }

    /// <summary>The reference's 422 when another record of the same kind already links the path.</summary>
    public static ProblemException DuplicatePath(string recordKind, string holderId, string path)
        => FieldErrors.Invalid(new JsonObject
        {
            ["link"] = new JsonArray($"{recordKind} {holderId} already uses the link path {path}. The link value must be unique."),
        });

    /// <summary>
    /// The link a PATCH leaves: a record without one takes the requested link once
    /// <paramref name="validateNew"/> accepts it; the same target again changes nothing; another target is a 409.
    /// </summary>
    public static async Task<ArtifactLink?> PatchedAsync(ArtifactLink? current, ArtifactLink? requested, Func<ArtifactLink, Task> validateNew)
    {
        if (requested is null)
        {
            return current;
        }
        if (current is null)
        {
            await validateNew(requested);
            return requested;
        }
        return current.SameTarget(requested) ? current : throw ImsProblems.Conflict();
    }
}
