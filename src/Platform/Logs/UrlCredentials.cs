using System.Text.RegularExpressions;

namespace Cray.Platform.Logs;

/// <summary>URLs may carry user:password (and programs echo them): nothing with a secret in it goes to a log or an error.</summary>
public static partial class UrlCredentials
{
    public static string Redact(string text) => UserInfo().Replace(text, "://***@");

    [GeneratedRegex(@"://[^/@\s]+@")]
    private static partial Regex UserInfo();
}
