using Cray.Platform.Problems;
using Microsoft.AspNetCore.Http;

namespace Cray.Cfs;

/// <summary>CFS errors as connexion shapes them: type about:blank, a specific title, and a detail.</summary>
public static class CfsProblems
{
    public const string AboutBlank = "about:blank";

    public static ProblemException Problem(int status, string title, string detail) => new(status, detail, title: title, type: AboutBlank);

    /// <summary>A request that fails the schema: title "Bad Request", detail "&lt;message&gt; - '&lt;path&gt;'".</summary>
    public static ProblemException Schema(string message, string path)
        => Problem(StatusCodes.Status400BadRequest, "Bad Request", $"{message} - '{path}'");

    public static ProblemException BadRequest(string title, string detail) => Problem(StatusCodes.Status400BadRequest, title, detail);

    public static ProblemException NotFound(string title, string detail) => Problem(StatusCodes.Status404NotFound, title, detail);

    public static ProblemException Conflict(string title, string detail) => Problem(StatusCodes.Status409Conflict, title, detail);
}
