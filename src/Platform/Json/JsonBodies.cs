using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Platform.Problems;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cray.Platform.Json;

/// <summary>How a service answers a malformed body: its problems' type, and whether text that does not parse counts as no body (IMS answers that as "No input data provided").</summary>
public sealed record JsonBodyStyle(string? ProblemType, bool UnparsableIsEmpty);

/// <summary>
/// The one reader of JSON request bodies, for IMS and CFS alike. A body that is not JSON a strict
/// client would send is refused here with a problem naming what is wrong, before any route looks at
/// it: a Content-Type other than JSON (415), text that does not parse, a key twice in one object,
/// bytes that are not UTF-8, an escaped UTF-16 surrogate without its pair, a NUL character, nesting
/// deeper than <see cref="MaximumDepth"/> (400). What the body means (types, ranges, required
/// fields) is each route's own check.
/// </summary>
public static class JsonBodies
{
    /// <summary>Hard limit for a JSON request body; anything larger is not an API request.</summary>
    public const long MaximumBodyBytes = 4 * 1024 * 1024;

    /// <summary>How deeply arrays and objects may nest; no API document comes close.</summary>
    public const int MaximumDepth = 32;

    /// <summary>Reads a request body that must be a JSON object. Null for an empty body or JSON that is not an object, which the route then refuses in its own words.</summary>
    public static async Task<JsonObject?> ReadObjectAsync(HttpRequest request, JsonBodyStyle style, CancellationToken cancellationToken)
        => await ReadAsync(request, style, cancellationToken) as JsonObject;

    /// <summary>Reads a JSON request body of any shape (bulk writes take a list); null when it is empty.</summary>
    public static async Task<JsonNode?> ReadAsync(HttpRequest request, JsonBodyStyle style, CancellationToken cancellationToken)
    {
        var problemType = style.ProblemType;
        var body = await ReadBytesAsync(request, cancellationToken);
        if (body.Length == 0)
        {
            return null;
        }
        if (!IsJsonMediaType(request.ContentType))
        {
            throw UnsupportedMediaType(request, problemType);
        }
        if (!Check(body, style))
        {
            return null;
        }
        return JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = MaximumDepth });
    }

    /// <summary>
    /// Refuses, before any route runs, a request body under these paths that is not sent as JSON
    /// (415), as the reference's API framework does: a route that would first look a record up
    /// answers the same whether or not the record exists.
    /// </summary>
    /// <param name="apis">Each API's path prefix, with the problem type of its service's style.</param>
    public static IApplicationBuilder UseJsonRequestBodies(this IApplicationBuilder app, params (string PathPrefix, string? ProblemType)[] apis)
        => app.Use(async (context, next) =>
        {
            var request = context.Request;
            var hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
            if (hasBody && !IsJsonMediaType(request.ContentType)
                && apis.FirstOrDefault(api => request.Path.StartsWithSegments(api.PathPrefix, StringComparison.Ordinal)) is { PathPrefix: not null } matched)
            {
                throw UnsupportedMediaType(request, matched.ProblemType);
            }
            await next(context);
        });

    private static ProblemException UnsupportedMediaType(HttpRequest request, string? problemType)
        => new(StatusCodes.Status415UnsupportedMediaType,
            $"The request body must be sent as application/json, not {(string.IsNullOrWhiteSpace(request.ContentType) ? "without a Content-Type" : request.ContentType)}.",
            title: "Unsupported Media Type", type: problemType);

    /// <summary>application/json, or any type with the +json suffix (application/merge-patch+json); parameters such as charset are allowed.</summary>
    public static bool IsJsonMediaType(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType is not { } mediaType)
        {
            return false;
        }
        if (parsed.CharSet is { } charset && !charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Walks the whole text once: structure, depth, every string's encoding and content, every object's keys. False for text that does not parse, where the style treats that as no body.</summary>
    public static bool Check(ReadOnlySpan<byte> body, JsonBodyStyle style)
    {
        var problemType = style.ProblemType;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaximumDepth, CommentHandling = JsonCommentHandling.Disallow });
        var keys = new Stack<HashSet<string>>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        keys.Push(new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.EndObject:
                        keys.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        var key = Text(ref reader, problemType);
                        if (!keys.Peek().Add(key))
                        {
                            throw Malformed($"The key \"{key}\" appears more than once in one object; each key may be given once.", problemType);
                        }
                        break;
                    case JsonTokenType.String:
                        Text(ref reader, problemType);
                        break;
                }
            }
        }
        catch (JsonException exception)
        {
            if (style.UnparsableIsEmpty)
            {
                return false;
            }
            // The reader's message names the problem and where it is ("... LineNumber: 0 | BytePositionInLine: 12.").
            throw Malformed($"The request body is not valid JSON: {exception.Message}", problemType);
        }
        return true;
    }

    private static string Text(ref Utf8JsonReader reader, string? problemType)
    {
        string text;
        try
        {
            text = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Malformed($"The request body holds a string that is not valid text (bytes that are not UTF-8, or an escaped UTF-16 surrogate without its pair) "
                + $"near byte {reader.TokenStartIndex}.", problemType);
        }
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            throw Malformed($"The request body holds a NUL character (\\u0000) in a string near byte {reader.TokenStartIndex}; names, ids and values may not contain one.", problemType);
        }
        return text;
    }

    private static ProblemException Malformed(string detail, string? problemType)
        => new(StatusCodes.Status400BadRequest, detail, title: "Bad Request", type: problemType);

    private static async Task<byte[]> ReadBytesAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaximumBodyBytes)
        {
            throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaximumBodyBytes)
            {
                throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
            }
        }
        return buffer.ToArray();
    }
}
