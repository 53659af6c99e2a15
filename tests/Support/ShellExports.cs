namespace Cray.Tests.Support;

/// <summary>The variables a script prints as <c>export NAME=VALUE</c> lines for a caller to eval (rgw.sh, cluster.sh).</summary>
public static class ShellExports
{
    public static IReadOnlyDictionary<string, string> Parse(string output)
    {
        var exports = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("export ", StringComparison.Ordinal) && line.IndexOf('=') is var equals and > 0)
            {
                exports[line["export ".Length..equals]] = line[(equals + 1)..].Trim().Trim('\'', '"');
            }
        }
        return exports;
    }
}
