using System.Text;

namespace Cray.Cfs.Configurations;

/// <summary>
/// Hands a source's credentials to git through GIT_ASKPASS: a private helper script answers git's
/// prompts from the git process's environment, so no secret is ever on a command line or in a log.
/// </summary>
public static class GitCredentials
{

    private static readonly Lazy<string> HelperPath = new(CreateHelper);

    public static IReadOnlyDictionary<string, string?> Environment(Sources.SourceCredentials? credentials)
    {
        var environment = new Dictionary<string, string?>
        {
            // Never wait on a terminal prompt.
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["SSH_ASKPASS"] = "/bin/false",
        };
        if (credentials is null)
        {
            environment["GIT_ASKPASS"] = "/bin/false";
            return environment;
        }
        environment["GIT_ASKPASS"] = HelperPath.Value;
        environment["CRAY_GIT_USERNAME"] = credentials.Username;
        environment["CRAY_GIT_PASSWORD"] = credentials.Password;
        return environment;
    }

    private static string CreateHelper()
    {
        var directory = Directory.CreateTempSubdirectory("cray-git-askpass-").FullName;
        var path = Path.Combine(directory, "askpass");
        var script = "#!/bin/sh\ncase \"$1\" in\n  Username*) printf '%s\\n' \"$CRAY_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$CRAY_GIT_PASSWORD\" ;;\nesac\n";
        File.WriteAllText(path, script, new UTF8Encoding(false));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        return path;
    }
}
