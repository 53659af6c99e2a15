using System.Globalization;

namespace Cray.Platform;

/// <summary>The reference's timestamp text: ISO-8601, microseconds, naive UTC (no offset).</summary>
public static class Timestamps
{
    public static string Format(DateTimeOffset instant)
        => instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);

    /// <summary>Reads both the naive form and older records that carry an offset; a naive value is UTC.</summary>
    public static DateTimeOffset Parse(string text)
        => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
