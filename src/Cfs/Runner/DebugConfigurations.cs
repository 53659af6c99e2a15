namespace Cray.Cfs.Runner;

/// <summary>
/// The reference's built-in debug configurations: a v3 session may name <c>debug_fail</c>,
/// <c>debug_facts</c> or <c>debug_noop</c> without such a configuration existing, and runs one
/// pseudo-layer <c>_debug</c> with the matching playbook.
/// </summary>
public static class DebugConfigurations
{
    public const string Prefix = "debug_";

    public const string LayerName = "_debug";

    private static readonly Dictionary<string, string> Playbooks = new(StringComparer.Ordinal)
    {
        ["fail"] = """
            - hosts: all
              gather_facts: false
              tasks:
                - name: Fail on purpose (debug_fail)
                  ansible.builtin.fail:
                    msg: debug_fail fails every host on purpose.
            """,
        ["facts"] = """
            - hosts: all
              gather_facts: true
              tasks:
                - name: Print the facts Ansible gathered (debug_facts)
                  ansible.builtin.debug:
                    var: ansible_facts
            """,
        ["noop"] = """
            - hosts: all
              gather_facts: false
              tasks: []
            """,
    };

    public static bool IsDebug(string configurationName) => configurationName.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The playbook of a built-in debug configuration, or null when the name is not one.</summary>
    public static string? Playbook(string configurationName)
        => IsDebug(configurationName) ? Playbooks.GetValueOrDefault(configurationName[Prefix.Length..]) : null;
}
