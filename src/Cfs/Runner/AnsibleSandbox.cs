using Cray.Platform.Sandboxes;

namespace Cray.Cfs.Runner;

/// <summary>
/// Where ansible-playbook runs, with every task it runs locally (<c>delegate_to: localhost</c>,
/// <c>local_action</c>), as the reference runs it in its own container: an identity-mapped user
/// namespace with no capabilities, its own processes, the host's programs read-only, and of the
/// host's files only the session's directory (layers, inventory, keys), its SSH control sockets
/// and the node key. Not the data directory, not /root, not other sessions. Its environment is
/// only what Ansible needs: nothing of the server's own.
/// </summary>
public static class AnsibleSandbox
{
    public static SandboxArguments For(SessionWorkspace workspace, string nodeKey, string layerDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        var home = Path.Combine(workspace.Directory, "home");
        Directory.CreateDirectory(home);
        var sandbox = new SandboxArguments()
            .HostPrograms()
            .ProcAndDevices()
            .Tmpfs("/tmp")
            .Tmpfs("/run")
            .Bind(workspace.Directory, workspace.Directory);
        if (workspace.ControlPathDirectory is { } controlPath)
        {
            sandbox.Bind(controlPath, controlPath);
        }
        foreach (var keyFile in new[] { nodeKey, nodeKey + ".pub", nodeKey + "-cert.pub" })
        {
            sandbox.ReadOnlyBindIfPresent(keyFile, keyFile);
        }
        sandbox.Capabilities([]).ProgramAsInit().CleanEnvironment(home)
            .SetEnvironment("USER", "root")
            .WorkingDirectory(layerDirectory);
        foreach (var (name, value) in environment)
        {
            if (value is not null)
            {
                sandbox.SetEnvironment(name, value);
            }
        }
        return sandbox;
    }
}
