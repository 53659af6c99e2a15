using System.Numerics;

namespace Cray.Ims.Images;

/// <summary>
/// Debian package versions ordered as dpkg orders them (deb-version(7)): the epoch as a number, then
/// the upstream version, then the revision, each compared with dpkg's verrevcmp, where <c>~</c> sorts
/// before everything, even the end of the text (<c>1.0~rc1</c> comes before <c>1.0</c>).
/// </summary>
public static class DebianVersion
{
    public static int Compare(string first, string second)
    {
        var (firstEpoch, firstUpstream, firstRevision) = Split(first);
        var (secondEpoch, secondUpstream, secondRevision) = Split(second);
        var byEpoch = firstEpoch.CompareTo(secondEpoch);
        if (byEpoch != 0)
        {
            return byEpoch;
        }
        var byUpstream = CompareText(firstUpstream, secondUpstream);
        return byUpstream != 0 ? byUpstream : CompareText(firstRevision, secondRevision);
    }

    /// <summary>Epoch (0 when absent or not a number), upstream version, and revision (empty when absent: dpkg reads none as "0").</summary>
    private static (BigInteger Epoch, string Upstream, string Revision) Split(string version)
    {
        var trimmed = version.Trim();
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        var epoch = colon > 0 && BigInteger.TryParse(trimmed.AsSpan(0, colon), System.Globalization.NumberStyles.None, null, out var parsed) ? parsed : BigInteger.Zero;
        var rest = colon >= 0 ? trimmed[(colon + 1)..] : trimmed;
        var hyphen = rest.LastIndexOf('-');
        return hyphen >= 0 ? (epoch, rest[..hyphen], rest[(hyphen + 1)..]) : (epoch, rest, "");
    }

    /// <summary>dpkg's verrevcmp: runs of non-digits compared character by character by <see cref="Order"/>, then runs of digits as numbers.</summary>
    private static int CompareText(string first, string second)
    {
        int i = 0, j = 0;
        while (i < first.Length || j < second.Length)
        {
            while ((i < first.Length && !char.IsAsciiDigit(first[i])) || (j < second.Length && !char.IsAsciiDigit(second[j])))
            {
                var firstOrder = Order(At(first, i));
                var secondOrder = Order(At(second, j));
                if (firstOrder != secondOrder)
                {
                    return Math.Sign(firstOrder - secondOrder);
                }
                i++;
                j++;
            }
            while (At(first, i) == '0')
            {
                i++;
            }
            while (At(second, j) == '0')
            {
                j++;
            }
            var firstDifference = 0;
            while (char.IsAsciiDigit(At(first, i)) && char.IsAsciiDigit(At(second, j)))
            {
                if (firstDifference == 0)
                {
                    firstDifference = At(first, i) - At(second, j);
                }
                i++;
                j++;
            }
            if (char.IsAsciiDigit(At(first, i)))
            {
                return 1;
            }
            if (char.IsAsciiDigit(At(second, j)))
            {
                return -1;
            }
            if (firstDifference != 0)
            {
                return Math.Sign(firstDifference);
            }
        }
        return 0;
    }

    private static char At(string text, int index) => index < text.Length ? text[index] : '\0';

    /// <summary>Letters first in ASCII order, then other characters, with <c>~</c> before the end of the text (which is 0).</summary>
    private static int Order(char character) => character switch
    {
        '\0' => 0,
        '~' => -1,
        _ when char.IsAsciiDigit(character) => 0,
        _ when char.IsAsciiLetter(character) => character,
        _ => character + 256,
    };
}

/// <summary>
/// RPM versions ordered as rpm orders them: the epoch as a number (none is 0), then version and release
/// each by rpmvercmp: alternating runs of digits (as numbers) and letters, other characters only
/// separating them, <c>~</c> sorting before everything and <c>^</c> after the end of the text only.
/// </summary>
public static class RpmVersion
{
    public static int Compare(string? firstEpoch, string firstVersion, string firstRelease, string? secondEpoch, string secondVersion, string secondRelease)
    {
        var byEpoch = Epoch(firstEpoch).CompareTo(Epoch(secondEpoch));
        if (byEpoch != 0)
        {
            return byEpoch;
        }
        var byVersion = CompareText(firstVersion, secondVersion);
        return byVersion != 0 ? byVersion : CompareText(firstRelease, secondRelease);
    }

    /// <summary>Compares two versions written [epoch:]version-release, as rpm prints them (a release holds no hyphen).</summary>
    public static int CompareWritten(string first, string second)
    {
        var (firstEpoch, firstVersion, firstRelease) = Split(first);
        var (secondEpoch, secondVersion, secondRelease) = Split(second);
        return Compare(firstEpoch, firstVersion, firstRelease, secondEpoch, secondVersion, secondRelease);
    }

    private static (string? Epoch, string Version, string Release) Split(string written)
    {
        var colon = written.IndexOf(':', StringComparison.Ordinal);
        var rest = written[(colon + 1)..];
        var hyphen = rest.LastIndexOf('-');
        return (colon >= 0 ? written[..colon] : null, hyphen >= 0 ? rest[..hyphen] : rest, hyphen >= 0 ? rest[(hyphen + 1)..] : "");
    }

    private static BigInteger Epoch(string? epoch)
        => BigInteger.TryParse(epoch, System.Globalization.NumberStyles.None, null, out var parsed) ? parsed : BigInteger.Zero;

    /// <summary>rpmvercmp, as rpm 4.18 has it.</summary>
    public static int CompareText(string first, string second)
    {
        if (first == second)
        {
            return 0;
        }
        int i = 0, j = 0;
        while (i < first.Length || j < second.Length)
        {
            while (i < first.Length && !char.IsAsciiLetterOrDigit(first[i]) && first[i] is not ('~' or '^'))
            {
                i++;
            }
            while (j < second.Length && !char.IsAsciiLetterOrDigit(second[j]) && second[j] is not ('~' or '^'))
            {
                j++;
            }
            if (At(first, i) == '~' || At(second, j) == '~')
            {
                if (At(first, i) != '~')
                {
                    return 1;
                }
                if (At(second, j) != '~')
                {
                    return -1;
                }
                i++;
                j++;
                continue;
            }
            if (At(first, i) == '^' || At(second, j) == '^')
            {
                if (i == first.Length)
                {
                    return -1;
                }
                if (j == second.Length)
                {
                    return 1;
                }
                if (At(first, i) != '^')
                {
                    return 1;
                }
                if (At(second, j) != '^')
                {
                    return -1;
                }
                i++;
                j++;
                continue;
            }
            if (i == first.Length || j == second.Length)
            {
                break;
            }
            var numeric = char.IsAsciiDigit(first[i]);
            Func<char, bool> inRun = numeric ? char.IsAsciiDigit : char.IsAsciiLetter;
            var firstEnd = i;
            while (firstEnd < first.Length && inRun(first[firstEnd]))
            {
                firstEnd++;
            }
            var secondEnd = j;
            while (secondEnd < second.Length && inRun(second[secondEnd]))
            {
                secondEnd++;
            }
            if (secondEnd == j)
            {
                // A number against letters: the number is newer.
                return numeric ? 1 : -1;
            }
            var firstRun = first[i..firstEnd];
            var secondRun = second[j..secondEnd];
            if (numeric)
            {
                firstRun = firstRun.TrimStart('0');
                secondRun = secondRun.TrimStart('0');
                if (firstRun.Length != secondRun.Length)
                {
                    return firstRun.Length > secondRun.Length ? 1 : -1;
                }
            }
            var byRun = string.CompareOrdinal(firstRun, secondRun);
            if (byRun != 0)
            {
                return Math.Sign(byRun);
            }
            i = firstEnd;
            j = secondEnd;
        }
        if (i == first.Length && j == second.Length)
        {
            return 0;
        }
        return i < first.Length ? 1 : -1;
    }

    private static char At(string text, int index) => index < text.Length ? text[index] : '\0';
}
