using System.Text.Json.Nodes;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Cray.Platform.Problems;

/// <summary>Writes problem+json bodies with the keys the reference services send: detail, errors (when any), status, title.</summary>
public static class ProblemResponses
{
    public const string ContentType = "application/problem+json";

    public static JsonObject Body(int status, string detail, JsonNode? errors = null, string? title = null, string? type = null)
    {
        var body = new JsonObject { ["detail"] = detail };
        if (errors is not null)
        {
            body["errors"] = errors.DeepClone();
        }
        body["status"] = status;
        body["title"] = title ?? ReasonPhrases.GetReasonPhrase(status);
        if (type is not null)
        {
            body["type"] = type;
        }
        return body;
    }

    public static async Task WriteAsync(HttpContext context, int status, string detail, JsonNode? errors = null, string? title = null, string? type = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        await context.Response.WriteAsync(Body(status, detail, errors, title, type).ToJsonString(RecordJson.Options), context.RequestAborted);
    }
}
