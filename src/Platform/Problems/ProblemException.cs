using System.Text.Json.Nodes;

namespace Cray.Platform.Problems;

/// <summary>
/// Raised by domain code for a request that cannot be honoured; the HTTP layer turns it into an
/// RFC 7807 body with the reference's status, title and detail (and <c>errors</c> where given).
/// </summary>
public sealed class ProblemException(int status, string detail, JsonNode? errors = null, string? title = null, string? type = null) : Exception(detail)
{
    public int Status { get; } = status;

    public string Detail { get; } = detail;

    public JsonNode? Errors { get; } = errors;

    /// <summary>The problem's title; the HTTP reason phrase when not given (IMS), a specific text for CFS ("Session not found.").</summary>
    public string? Title { get; } = title;

    /// <summary>CFS (connexion) sends "about:blank"; IMS sends no type.</summary>
    public string? Type { get; } = type;
}
