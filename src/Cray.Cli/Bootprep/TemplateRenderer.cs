using System.Text.RegularExpressions;
using Fluid;

namespace Cray.Cli.Bootprep;

/// <summary>
/// Renders the fields the reference renders (<c>{{ product.version }}</c>) with Fluid, a Liquid
/// engine that runs no code: templates reach only the variables given, an undefined variable or
/// filter is an error (not an empty text), and the work a template may do is bounded.
/// </summary>
public sealed partial class TemplateRenderer(IReadOnlyDictionary<string, object?> variables)
{
    private static readonly FluidParser Parser = new();

    private static readonly TemplateOptions Options = new TemplateOptionsBuilder()
        .WithStrictVariables(true)
        .WithStrictFilters(true)
        .WithMaxSteps(10_000)
        .WithMaxRecursion(20)
        .WithMaxOutputSize(4096)
        .WithMaxCollectionSize(1000)
        .Build();

    /// <summary>The rendered text, or the reason it cannot be rendered.</summary>
    /// <param name="extra">Variables of this field only, such as <c>base</c> for an image's name.</param>
    public (string? Text, string? Problem) Render(string template, IReadOnlyDictionary<string, object?>? extra = null)
    {
        if (!template.Contains("{{", StringComparison.Ordinal) && !template.Contains("{%", StringComparison.Ordinal))
        {
            return (template, null);
        }
        if (!Parser.TryParse(template, out var parsed, out var error))
        {
            return (null, $"cannot read the template '{template}': {error.Split('\n')[0]}");
        }
        var context = new TemplateContext(Options);
        foreach (var (name, value) in variables)
        {
            context.SetValue(name, value ?? "");
        }
        foreach (var (name, value) in extra ?? new Dictionary<string, object?>())
        {
            context.SetValue(name, value ?? "");
        }
        try
        {
            return (parsed.Render(context), null);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Any failure of a template (a filter dividing by zero, an include with nothing to include) is the file's problem, named with its place.
            var missing = VariablePaths().Matches(template).Select(match => match.Groups[1].Value).FirstOrDefault(path => !IsDefined(path, extra));
            return (null, missing is null
                ? $"cannot render '{template}': {exception.Message}"
                : $"cannot render '{template}': the variable {missing} is not defined (give --vars {missing}=VALUE or put it in --vars-file)");
        }
    }

    private bool IsDefined(string path, IReadOnlyDictionary<string, object?>? extra)
    {
        var parts = path.Split('.');
        object? current = extra is not null && extra.TryGetValue(parts[0], out var own) ? own : variables.GetValueOrDefault(parts[0]);
        if (current is null && !(extra?.ContainsKey(parts[0]) ?? false) && !variables.ContainsKey(parts[0]))
        {
            return false;
        }
        foreach (var part in parts.Skip(1))
        {
            if (current is not IReadOnlyDictionary<string, object?> map || !map.TryGetValue(part, out current))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The dotted names a template reads, such as <c>product.version</c> in <c>{{ product.version | upcase }}</c>.</summary>
    [GeneratedRegex(@"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")]
    private static partial Regex VariablePaths();
}
