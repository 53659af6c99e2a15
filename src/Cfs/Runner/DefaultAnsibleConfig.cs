namespace Cray.Cfs.Runner;

/// <summary>The ansible.cfg a session gets when it names <c>cfs-default-ansible-cfg</c> (or nothing).</summary>
public static class DefaultAnsibleConfig
{
    public const string Name = "cfs-default-ansible-cfg";

    /// <summary>
    /// Pipelining and SSH ControlPersist keep one SSH connection per host for the whole layer. The
    /// control sockets' directory comes from the runner's environment (<see cref="AnsibleEnvironment"/>),
    /// as it does for a named configuration.
    /// </summary>
    public const string Text = """
        [defaults]
        host_key_checking = False
        forks = 50
        retry_files_enabled = False
        interpreter_python = auto_silent
        gathering = smart
        any_errors_fatal = False
        nocolor = True
        deprecation_warnings = False
        display_skipped_hosts = False
        timeout = 30

        [ssh_connection]
        pipelining = True
        retries = 3
        ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o ServerAliveInterval=30 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null

        """;
}
