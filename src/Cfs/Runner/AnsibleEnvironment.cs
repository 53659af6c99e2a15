using System.Text.RegularExpressions;

namespace Cray.Cfs.Runner;

/// <summary>
/// The environment ansible-playbook runs with. The runner's own defaults (root with the node key,
/// control sockets in the session's directory) go in only for settings the session's ansible.cfg
/// does not make: environment variables beat ansible.cfg, and a named configuration must win.
/// </summary>
public static partial class AnsibleEnvironment
{
    public static Dictionary<string, string?> For(string configText, string nodeKey, string controlPathDirectory, string layerDirectory, string temporaryDirectory)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ANSIBLE_ROLES_PATH"] = Path.Combine(layerDirectory, "roles"),
            ["ANSIBLE_LOCAL_TEMP"] = temporaryDirectory,
            ["ANSIBLE_FORCE_COLOR"] = "0",
            ["ANSIBLE_NOCOLOR"] = "1",
            ["PYTHONUNBUFFERED"] = "1",
        };
        var set = ConfigKey().Matches(configText).Select(match => match.Groups["key"].Value.ToLowerInvariant()).ToHashSet();
        if (!set.Contains("private_key_file"))
        {
            environment["ANSIBLE_PRIVATE_KEY_FILE"] = nodeKey;
        }
        if (!set.Contains("remote_user"))
        {
            environment["ANSIBLE_REMOTE_USER"] = "root";
        }
        // The runner closes the masters it finds here; a config naming its own control path keeps them itself.
        if (!set.Contains("control_path_dir") && !set.Contains("control_path"))
        {
            environment["ANSIBLE_SSH_CONTROL_PATH_DIR"] = controlPathDirectory;
        }
        return environment;
    }

    [GeneratedRegex(@"^\s*(?<key>[A-Za-z_]+)\s*[=:]", RegexOptions.Multiline)]
    private static partial Regex ConfigKey();
}
