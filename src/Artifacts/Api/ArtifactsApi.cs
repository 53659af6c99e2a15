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

    private static async Task<IResult> ListBuckets(IArtifactStore store, CancellationToken cancellationToken)
        => Results.Json((await store.ListBucketsAsync(cancellationToken)).Select(name => new { name }));

    private static async Task<IResult> CreateBucket(string bucket, IArtifactStore store, CancellationToken cancellationToken)
    {
        var existed = await store.BucketExistsAsync(bucket, cancellationToken);
        await store.CreateBucketAsync(bucket, cancellationToken);
        return existed ? Results.Ok(new { name = bucket }) : Results.Created($"/apis/artifacts/{bucket}", new { name = bucket });
    }

    private static async Task<IResult> ListObjects(string bucket, string? prefix, IArtifactStore store, CancellationToken cancellationToken)
    {
        var listing = new JsonArray();
        await foreach (var artifact in store.ListObjectsAsync(bucket, prefix, cancellationToken))
        {
            listing.Add(Listing(artifact));
        }
        return Results.Text(listing.ToJsonString(RecordJson.Options), "application/json");
    }

    private static async Task<IResult> HeadObject(string bucket, string key, IArtifactStore store, HttpContext context)
    {
        key = DecodeKey(key);
        var artifact = await store.HeadAsync(bucket, key, context.RequestAborted) ?? throw NotFound(bucket, key);
        WriteObjectHeaders(context.Response, artifact);
        context.Response.ContentLength = artifact.Size;
        return Results.Empty;
    }

    /// <summary>The whole object, or the one byte range a Range header asks for (206); several ranges get the whole object, as S3 does.</summary>
    private static async Task<IResult> GetObject(string bucket, string key, IArtifactStore store, HttpContext context)
    {
        key = DecodeKey(key);
        var cancellationToken = context.RequestAborted;
        var artifact = await store.HeadAsync(bucket, key, cancellationToken) ?? throw NotFound(bucket, key);
        if (context.Request.Headers.IfNoneMatch.ToString() is { Length: > 0 } ifNoneMatch
            && ifNoneMatch.Split(',').Any(tag => tag.Trim() is "*" || tag.Trim().Trim('"') == artifact.ETag))
        {
            context.Response.Headers.ETag = $"\"{artifact.ETag}\"";
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }
        ArtifactRange? range = null;
        if (RequestedRange(context.Request) is { } requested)
        {
            range = requested.Resolve(artifact.Size);
            if (range is null)
            {
                context.Response.Headers.ContentRange = $"bytes */{artifact.Size}";
                throw new ProblemException(StatusCodes.Status416RangeNotSatisfiable,
                    $"The range {context.Request.Headers.Range} is not within {artifact.S3Path}, which holds {artifact.Size} bytes.");
            }
        }
        await using var content = await store.OpenReadAsync(bucket, key, range, cancellationToken) ?? throw NotFound(bucket, key);
        var response = context.Response;
        WriteObjectHeaders(response, content.Object);
        if (content.IsPartial)
        {
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {content.Range.Offset}-{content.Range.Last}/{content.Object.Size}";
        }
        response.ContentLength = content.Range.Length;
        await content.Stream.CopyToAsync(response.Body, 1 << 20, cancellationToken);
        return Results.Empty;
    }

    /// <summary>A single byte range from the Range header: first-last, first- or -suffixLength.</summary>
    private static RequestedBytes? RequestedRange(HttpRequest request)
    {
        if (!RangeHeaderValue.TryParse(request.Headers.Range.ToString(), out var header)
            || !string.Equals(header.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase)
            || header.Ranges.Count != 1)
        {
            return null;
        }
        var only = header.Ranges.Single();
        return new RequestedBytes(only.From, only.To);
    }

    private readonly record struct RequestedBytes(long? From, long? To)
    {
        /// <summary>The bytes of an object of <paramref name="size"/> bytes this names, or null when none of them exist.</summary>
        public ArtifactRange? Resolve(long size)
        {
            if (From is { } first)
            {
                if (first >= size)
                {
                    return null;
                }
                var last = Math.Min(To ?? size - 1, size - 1);
                return new ArtifactRange(first, last - first + 1);
            }
            if (To is { } suffix && suffix > 0 && size > 0)
            {
                var length = Math.Min(suffix, size);
                return new ArtifactRange(size - length, length);
            }
            return null;
        }
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
        // An md5sum the uploader recorded must be the content's: it is what IMS later trusts.
        var expectedMd5 = ExpectedMd5(context.Request)
            ?? (metadata.TryGetValue(ArtifactObject.Md5MetadataName, out var recorded) ? recorded.ToLowerInvariant() : null);
        var artifact = await store.PutAsync(bucket, key, context.Request.Body, metadata, context.Request.ContentType,
            expectedMd5, context.RequestAborted);
        context.Response.Headers.ETag = $"\"{artifact.ETag}\"";
        // S3 answers a put with the ETag alone; the md5 computed on the way in is what a client checks its upload against.
        context.Response.Headers[MetadataHeaderPrefix + ArtifactObject.Md5MetadataName] = artifact.Md5;
        return Results.Text(Listing(artifact.ToSummary()).ToJsonString(RecordJson.Options), "application/json", statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> DeleteObject(string bucket, string key, IArtifactStore store, CancellationToken cancellationToken)
    {
        key = DecodeKey(key);
        return await store.DeleteAsync(bucket, key, cancellationToken) ? Results.NoContent() : throw NotFound(bucket, key);
    }

    /// <summary>
    /// Routing decodes a path except for "%2F"; an S3 key is the fully decoded text, so an encoded
    /// slash is a slash (and "..%2F.." is caught by key validation rather than stored as a name).
    /// </summary>
    private static string DecodeKey(string key) => key.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    /// <summary>The listing entry, in the key names and shapes S3's ListObjects uses.</summary>
    public static JsonObject Listing(ArtifactSummary artifact) => new()
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
                ArtifactRangeNotSatisfiableException => StatusCodes.Status416RangeNotSatisfiable,
                ArtifactStoreUnavailableException => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status400BadRequest,
            };
            throw new ProblemException(status, exception.Message);
        }
    }
}
