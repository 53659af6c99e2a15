using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Platform.Json;
using Cray.Platform.Problems;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Cray.Artifacts.Api;

/// <summary>
/// The artifact repository over HTTP under <c>/apis/artifacts</c>: buckets, objects by prefix, and
/// HEAD/GET/PUT/DELETE of one object. User metadata travels in <c>x-amz-meta-*</c> headers as in S3.
/// </summary>
public static class ArtifactsApi
{
    public const string MetadataHeaderPrefix = "x-amz-meta-";

    public static IEndpointRouteBuilder MapArtifactsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/apis/artifacts").AddEndpointFilter(TranslateArtifactErrors);
        group.MapGet("/", ListBuckets);
        group.MapPut("/{bucket}", CreateBucket);
        group.MapGet("/{bucket}", ListObjects);
        group.MapMethods("/{bucket}/{**key}", [HttpMethods.Head], HeadObject);
        group.MapGet("/{bucket}/{**key}", GetObject);
        group.MapPut("/{bucket}/{**key}", PutObject);
        group.MapDelete("/{bucket}/{**key}", DeleteObject);
        return routes;
    }

    private static IResult ListBuckets(IArtifactStore store)
        => Results.Json(store.ListBuckets().Select(name => new { name }));

    private static IResult CreateBucket(string bucket, IArtifactStore store)
    {
        var existed = store.BucketExists(bucket);
        store.CreateBucket(bucket);
        return existed ? Results.Ok(new { name = bucket }) : Results.Created($"/apis/artifacts/{bucket}", new { name = bucket });
    }

    private static IResult ListObjects(string bucket, string? prefix, IArtifactStore store)
        => Results.Text(new JsonArray(store.ListObjects(bucket, prefix).Select(Listing).ToArray()).ToJsonString(RecordJson.Options), "application/json");

    private static IResult HeadObject(string bucket, string key, IArtifactStore store, HttpContext context)
    {
        key = DecodeKey(key);
        var artifact = store.Head(bucket, key) ?? throw NotFound(bucket, key);
        WriteObjectHeaders(context.Response, artifact);
        context.Response.ContentLength = artifact.Size;
        return Results.Empty;
    }

    private static IResult GetObject(string bucket, string key, IArtifactStore store, HttpContext context)
    {
        key = DecodeKey(key);
        var artifact = store.Head(bucket, key) ?? throw NotFound(bucket, key);
        var content = store.OpenRead(bucket, key) ?? throw NotFound(bucket, key);
        WriteObjectHeaders(context.Response, artifact);
        return Results.Stream(content, artifact.ContentType, lastModified: artifact.LastModified,
            entityTag: new EntityTagHeaderValue($"\"{artifact.ETag}\""), enableRangeProcessing: true);
    }

    private static async Task<IResult> PutObject(string bucket, string key, IArtifactStore store, HttpContext context)
    {
        key = DecodeKey(key);
        // A root file system is gigabytes: the body streams straight to disk, so no size limit applies here.
        var bodySize = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false })
        {
            bodySize.MaxRequestBodySize = null;
        }
        var metadata = context.Request.Headers
            .Where(header => header.Key.StartsWith(MetadataHeaderPrefix, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(header => header.Key[MetadataHeaderPrefix.Length..].ToLowerInvariant(), header => header.Value.ToString());
        var artifact = await store.PutAsync(bucket, key, context.Request.Body, metadata, context.Request.ContentType,
            ExpectedMd5(context.Request), context.RequestAborted);
        context.Response.Headers.ETag = $"\"{artifact.ETag}\"";
        return Results.Text(Listing(artifact).ToJsonString(RecordJson.Options), "application/json", statusCode: StatusCodes.Status201Created);
    }

    private static IResult DeleteObject(string bucket, string key, IArtifactStore store)
    {
        key = DecodeKey(key);
        return store.Delete(bucket, key) ? Results.NoContent() : throw NotFound(bucket, key);
    }

    /// <summary>
    /// Routing decodes a path except for "%2F"; an S3 key is the fully decoded text, so an encoded
    /// slash is a slash (and "..%2F.." is caught by key validation rather than stored as a name).
    /// </summary>
    private static string DecodeKey(string key) => key.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    /// <summary>The listing entry, in the key names and shapes S3's ListObjects uses.</summary>
    public static JsonObject Listing(ArtifactObject artifact) => new()
    {
        ["Key"] = artifact.Key,
        ["LastModified"] = artifact.LastModified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+00:00'", CultureInfo.InvariantCulture),
        ["ETag"] = $"\"{artifact.ETag}\"",
        ["Size"] = artifact.Size,
        ["StorageClass"] = "STANDARD",
    };

    private static void WriteObjectHeaders(HttpResponse response, ArtifactObject artifact)
    {
        response.Headers.ETag = $"\"{artifact.ETag}\"";
        response.Headers.LastModified = artifact.LastModified.ToString("R", CultureInfo.InvariantCulture);
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = artifact.ContentType;
        foreach (var (name, value) in artifact.Metadata)
        {
            response.Headers[MetadataHeaderPrefix + name] = value;
        }
    }

    /// <summary>S3 clients send the expected checksum as base64 in Content-MD5.</summary>
    private static string? ExpectedMd5(HttpRequest request)
    {
        var header = request.Headers.ContentMD5.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }
        try
        {
            return Convert.ToHexStringLower(Convert.FromBase64String(header));
        }
        catch (FormatException)
        {
            throw new ProblemException(StatusCodes.Status400BadRequest, "The Content-MD5 header is not a base64-encoded MD5 digest.");
        }
    }

    private static ProblemException NotFound(string bucket, string key)
        => new(StatusCodes.Status404NotFound, $"The object {ArtifactPath.Format(bucket, key)} does not exist.");

    private static async ValueTask<object?> TranslateArtifactErrors(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (ArtifactException exception)
        {
            var status = exception switch
            {
                ArtifactNotFoundException => StatusCodes.Status404NotFound,
                ArtifactConflictException => StatusCodes.Status409Conflict,
                _ => StatusCodes.Status400BadRequest,
            };
            throw new ProblemException(status, exception.Message);
        }
    }
}
