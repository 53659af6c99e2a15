using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cray.Ims.Validation;

/// <summary>Small readers for request fields that record what is wrong instead of throwing.</summary>
public static class JsonFields
{
    /// <summary>A missing or empty (<c>{}</c>) body is the reference's 400 "No input provided".</summary>
    public static void RequireInput([NotNull] JsonObject? body)
    {
        if (body is null || body.Count == 0)
        {
            throw ImsProblems.NoInput();
        }
    }

    public static void RejectUnknown(JsonObject body, IReadOnlyCollection<string> allowed, FieldErrors errors)
    {
        foreach (var (name, _) in body)
        {
            if (!allowed.Contains(name))
            {
                errors.Add(name, FieldErrors.UnknownField);
            }
        }
    }

    /// <summary>Reads an optional string; records an error when present but not a string.</summary>
    public static string? OptionalString(JsonObject body, string field, FieldErrors errors)
    {
        if (!body.TryGetPropertyValue(field, out var node))
        {
            return null;
        }
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String)
        {
            return value.GetValue<string>();
        }
        errors.Add(field, FieldErrors.NotAString);
        return null;
    }

    public static string? RequiredString(JsonObject body, string field, FieldErrors errors)
    {
        if (!body.ContainsKey(field) || body[field] is null)
        {
            errors.Add(field, body.ContainsKey(field) ? FieldErrors.NotNullable : FieldErrors.MissingField);
            return null;
        }
        return OptionalString(body, field, errors);
    }

    /// <summary>A required string that must hold at least one non-blank character.</summary>
    public static string? RequiredNonBlank(JsonObject body, string field, FieldErrors errors)
    {
        var text = RequiredString(body, field, errors);
        if (text is not null && string.IsNullOrWhiteSpace(text))
        {
            errors.Add(field, $"{field} field must not be blank");
            return null;
        }
        return text;
    }

    /// <summary>Reads an optional boolean (null counts as absent); records an error when present but not a boolean.</summary>
    public static bool? OptionalBool(JsonObject body, string field, FieldErrors errors)
    {
        if (!body.TryGetPropertyValue(field, out var node) || node is null)
        {
            return null;
        }
        if (node is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetValue<bool>();
        }
        errors.Add(field, FieldErrors.NotABoolean);
        return null;
    }

    public static string? OneOf(JsonObject body, string field, IReadOnlyList<string> choices, string message, FieldErrors errors)
    {
        var text = OptionalString(body, field, errors);
        if (text is not null && !choices.Contains(text))
        {
            errors.Add(field, message);
            return null;
        }
        return text;
    }

    public static string? RequiredOneOf(JsonObject body, string field, IReadOnlyList<string> choices, FieldErrors errors)
    {
        var text = RequiredString(body, field, errors);
        if (text is not null && !choices.Contains(text))
        {
            errors.Add(field, FieldErrors.MustBeOneOf(choices));
            return null;
        }
        return text;
    }

    public static bool IsUuid(string text) => Guid.TryParseExact(text, "D", out _);
}
