using System.Text.Json.Nodes;

namespace Cray.Platform.Problems;

/// <summary>
/// Raised by domain code for a request that cannot be honoured; the HTTP layer turns it into an
/// RFC 7807 body with the reference's status, title and detail (and <c>errors</c> where given).
/// </summary>
public sealed class ProblemException(int status, string detail, JsonNode? errors = null) : Exception(detail)
{
    public int Status { get; } = status;

    public string Detail { get; } = detail;

    public JsonNode? Errors { get; } = errors;
}
