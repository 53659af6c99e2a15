namespace Cray.Cli.Common;

/// <summary>The boolean spellings the reference CLI accepts: true/false, 1/0, yes/no, y/n, t/f, on/off, in any case.</summary>
public static class BooleanText
{
    public static bool TryParse(string text, out bool value)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "1" or "yes" or "y" or "t" or "on":
                value = true;
                return true;
            case "false" or "0" or "no" or "n" or "f" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }
}
