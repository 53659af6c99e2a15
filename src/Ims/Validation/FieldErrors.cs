using System.Text.Json.Nodes;
using Cray.Platform.Problems;
using Microsoft.AspNetCore.Http;

namespace Cray.Ims.Validation;

/// <summary>Collects per-field messages in the shape the reference's schema library reports them.</summary>
public sealed class FieldErrors
{
    public const string UnknownField = "Unknown field.";
    public const string MissingField = "Missing data for required field.";
    public const string NotAString = "Not a valid string.";
    public const string NotAnObject = "Invalid input type.";
    public const string NotAUuid = "Not a valid UUID.";
    public const string NotABoolean = "Not a valid boolean.";
    public const string NotAList = "Not a valid list.";
    public const string NotNullable = "Field may not be null.";

    private readonly JsonObject errors = [];

    public static string MustBeOneOf(IEnumerable<string> choices) => $"Must be one of: {string.Join(", ", choices)}.";

    public bool Any => errors.Count > 0;

    public void Add(string field, string message)
    {
        if (errors[field] is JsonArray messages)
        {
            messages.Add(message);
        }
        else
        {
            errors[field] = new JsonArray(message);
        }
    }

    public void AddNested(string field, FieldErrors nested)
    {
        if (nested.Any)
        {
            errors[field] = nested.errors.DeepClone();
        }
    }

    /// <summary>Throws the reference's 422 when anything was collected.</summary>
    public void ThrowIfAny()
    {
        if (Any)
        {
            throw Invalid(errors);
        }
    }

    public static ProblemException Invalid(JsonNode errors)
        => new(StatusCodes.Status422UnprocessableEntity, ImsProblems.ValidationDetail, errors);
}

public static class ImsProblems
{
    public const string NoInputDetail = "No input provided. Determine the specific information that is missing or invalid and then re-run the request with valid information.";
    public const string ValidationDetail = "Input data was understood, but failed validation. Re-run request with valid input values for the fields indicated in the response.";
    public const string NotFoundDetail = "Requested resource does not exist. Re-run request with valid ID.";
    public const string ConflictDetail = "Requested resource exists, but cannot be patched due to a patch conflict. Re-run request with valid input values.";

    public static ProblemException NoInput() => new(StatusCodes.Status400BadRequest, NoInputDetail);

    public static ProblemException NotFound() => new(StatusCodes.Status404NotFound, NotFoundDetail);

    public static ProblemException Conflict() => new(StatusCodes.Status409Conflict, ConflictDetail);

    public static ProblemException BadRequest(string detail) => new(StatusCodes.Status400BadRequest, detail);

    /// <summary>A 422 whose <c>errors</c> is the empty list: an unsupported key or operation.</summary>
    public static ProblemException Unsupported(string detail) => new(StatusCodes.Status422UnprocessableEntity, detail, new JsonArray());

    public static ProblemException Unprocessable(string detail) => new(StatusCodes.Status422UnprocessableEntity, detail);
}
