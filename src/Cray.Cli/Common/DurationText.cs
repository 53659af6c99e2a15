namespace Cray.Cli.Common;

/// <summary>Durations as options take them: a number and a unit, such as 90s, 30m, 2h or 1d.</summary>
public static class DurationText
{
    public static TimeSpan? Parse(string? text, string optionName)
    {
        if (text is null)
        {
            return null;
        }
        if (text.Length < 2 || !double.TryParse(text[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < 0)
        {
            throw Invalid(text, optionName);
        }
        return text[^1] switch
        {
            's' => TimeSpan.FromSeconds(value),
            'm' => TimeSpan.FromMinutes(value),
            'h' => TimeSpan.FromHours(value),
            'd' => TimeSpan.FromDays(value),
            _ => throw Invalid(text, optionName),
        };
    }

    private static CliException Invalid(string text, string optionName)
        => new($"Invalid value for '{optionName}': '{text}' is not a duration such as 90s, 30m or 2h.", showUsage: true);
}
