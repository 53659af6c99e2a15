using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Cray.Artifacts;

/// <summary>Parses and checks <c>s3://bucket/key</c> addresses and the names inside them.</summary>
public static partial class ArtifactPath
{
    public const int MaximumKeyBytes = 1024;

    public static string Format(string bucket, string key) => $"s3://{bucket}/{key}";

    public static bool TryParse(string? path, [NotNullWhen(true)] out string? bucket, [NotNullWhen(true)] out string? key)
    {
        bucket = null;
        key = null;
        if (path is null || !path.StartsWith("s3://", StringComparison.Ordinal))
        {
            return false;
        }
        var rest = path["s3://".Length..];
        var slash = rest.IndexOf('/');
        if (slash <= 0 || slash == rest.Length - 1)
        {
            return false;
        }
        bucket = rest[..slash];
        key = rest[(slash + 1)..];
        return IsValidBucket(bucket) && IsValidKey(key);
    }

    /// <summary>S3's bucket naming rules, which also keep a bucket name from being a path trick.</summary>
    public static bool IsValidBucket(string bucket) => BucketPattern().IsMatch(bucket) && !bucket.Contains("..", StringComparison.Ordinal);

    /// <summary>
    /// The most one '/'-separated segment of a key may hold, in UTF-8 bytes: a segment is a file
    /// name in the store, whose limit is 255 bytes, and the object's metadata file adds ".json".
    /// </summary>
    public const int MaximumSegmentBytes = 250;

    /// <summary>Keys are relative paths of plain segments: no empty, "." or ".." segment, none over <see cref="MaximumSegmentBytes"/>, and no control character.</summary>
    public static bool IsValidKey(string key)
    {
        if (key.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(key) > MaximumKeyBytes)
        {
            return false;
        }
        if (key.Any(char.IsControl) || key.Contains('\\'))
        {
            return false;
        }
        return key.Split('/').All(segment => segment.Length > 0 && segment != "." && segment != ".."
            && System.Text.Encoding.UTF8.GetByteCount(segment) <= MaximumSegmentBytes);
    }

    public static void EnsureValid(string bucket, string key)
    {
        EnsureValidBucket(bucket);
        if (!IsValidKey(key))
        {
            throw new InvalidArtifactNameException(
                $"Invalid key '{key}': a key is a relative path of 1 to {MaximumKeyBytes} bytes whose '/'-separated segments are 1 to {MaximumSegmentBytes} bytes each, "
                + "none of them '.' or '..', with no control character or backslash.");
        }
    }

    public static void EnsureValidBucket(string bucket)
    {
        if (!IsValidBucket(bucket))
        {
            throw new InvalidArtifactNameException(
                $"Invalid bucket name '{bucket}': use 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketPattern();
}
