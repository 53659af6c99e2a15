using System.Globalization;
using System.Text.RegularExpressions;

namespace Cray.Cfs.Runner;

/// <summary>One host's line of ansible-playbook's PLAY RECAP.</summary>
public sealed record HostRecap(string Host, int Ok, int Changed, int Unreachable, int Failed)
{
    public bool Broken => Unreachable > 0 || Failed > 0;
}

/// <summary>
/// Keeps, from ansible-playbook's output line by line, what component state needs: the PLAY RECAP
/// (which hosts the playbook processed and whether each failed) and whether a play was aborted
/// ("NO MORE HOSTS LEFT": any_errors_fatal, max_fail_percentage), which leaves healthy hosts
/// incomplete. Nothing else is held, however long the run.
/// </summary>
public sealed partial class PlayRecap
{
    private readonly Dictionary<string, HostRecap> hosts = new(StringComparer.Ordinal);
    private bool inRecap;

    /// <summary>Whether the output had a PLAY RECAP at all (a stdout_callback other than the default may print none).</summary>
    public bool Seen { get; private set; }

    public bool PlayAborted { get; private set; }

    public IReadOnlyList<HostRecap> Hosts => [.. hosts.Values];

    public void Add(string line)
    {
        if (line.StartsWith("NO MORE HOSTS LEFT", StringComparison.Ordinal))
        {
            PlayAborted = true;
        }
        else if (line.StartsWith("PLAY RECAP", StringComparison.Ordinal))
        {
            inRecap = Seen = true;
        }
        else if (inRecap && RecapLine().Match(line) is { Success: true } match)
        {
            int Count(string group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
            hosts[match.Groups["host"].Value] = new HostRecap(match.Groups["host"].Value, Count("ok"), Count("changed"), Count("unreachable"), Count("failed"));
        }
    }

    public static PlayRecap Of(IEnumerable<string> lines)
    {
        var recap = new PlayRecap();
        foreach (var line in lines)
        {
            recap.Add(line);
        }
        return recap;
    }

    [GeneratedRegex(@"^(?<host>\S+)\s+:\s+ok=(?<ok>\d+)\s+changed=(?<changed>\d+)\s+unreachable=(?<unreachable>\d+)\s+failed=(?<failed>\d+)")]
    private static partial Regex RecapLine();
}
