using System.Globalization;
using System.Text.RegularExpressions;

namespace Cray.Cfs.Runner;

/// <summary>One host's line of ansible-playbook's PLAY RECAP.</summary>
public sealed record HostRecap(string Host, int Ok, int Changed, int Unreachable, int Failed)
{
    public bool Broken => Unreachable > 0 || Failed > 0;
}

/// <summary>
/// Reads the PLAY RECAP that ansible-playbook prints at the end: which hosts a playbook processed
/// and whether each failed. The recap's format is the one part of Ansible's output scripts rely on.
/// </summary>
public static partial class PlayRecap
{
    public static List<HostRecap> Parse(IEnumerable<string> lines)
    {
        var hosts = new Dictionary<string, HostRecap>(StringComparer.Ordinal);
        var inRecap = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("PLAY RECAP", StringComparison.Ordinal))
            {
                inRecap = true;
                continue;
            }
            if (inRecap && RecapLine().Match(line) is { Success: true } match)
            {
                int Count(string group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
                hosts[match.Groups["host"].Value] = new HostRecap(match.Groups["host"].Value, Count("ok"), Count("changed"), Count("unreachable"), Count("failed"));
            }
        }
        return [.. hosts.Values];
    }

    [GeneratedRegex(@"^(?<host>\S+)\s+:\s+ok=(?<ok>\d+)\s+changed=(?<changed>\d+)\s+unreachable=(?<unreachable>\d+)\s+failed=(?<failed>\d+)")]
    private static partial Regex RecapLine();
}
