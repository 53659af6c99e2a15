namespace Cray.Server;

/// <summary>What is checked before the host is built: the flags, the privileges a role needs, the data directory and the programs.</summary>
public static class ServerCommandLine
{
    /// <summary>Prints help or refuses an unknown flag; null when the server should go on starting.</summary>
    public static int? HelpOrUnknownFlag(string[] args)
    {
        var knownFlags = ServerOptions.Flags.Select(flag => flag.Flag).Concat(ServerOptions.HostFlags).ToHashSet();
        for (var index = 0; index < args.Length; index++)
        {
            var argument = args[index].Split('=')[0];
            if (argument is "-h" or "--help")
            {
                Console.WriteLine("Usage: cray-server [OPTIONS]\n       cray-server tokens create NAME | list | delete NAME [--data-dir DIR]\n");
                foreach (var (flag, help) in ServerOptions.Flags)
                {
                    Console.WriteLine($"  {flag,-26} {help}");
                }
                return 0;
            }
            if (!knownFlags.Contains(argument))
            {
                Console.Error.WriteLine($"cray-server: unknown argument '{args[index]}'. Try 'cray-server --help'.");
                return 2;
            }
            if (!args[index].Contains('='))
            {
                index++;
            }
        }
        return null;
    }

    /// <summary>Why the server cannot run with these options on this host, or null.</summary>
    public static string? StartProblem(ServerOptions options)
    {
        if (!Environment.IsPrivilegedProcess && options.HasRole(ServerOptions.ImsWorkerRole))
        {
            return "the ims-worker role runs sshd jails, mounts and unsquashfs as root; run cray-server as root or leave the role out (--roles api).";
        }
        if (DataDirectoryAccess.Problem(options.DataDirectory) is { } dataDirectoryProblem)
        {
            return dataDirectoryProblem;
        }
        var missingTools = RequiredTools.Missing(options.Roles);
        return missingTools.Count > 0 ? "missing programs:\n  " + string.Join("\n  ", missingTools) : null;
    }
}
