using Cray.Processes;

namespace Cray.Platform.Sandboxes;

/// <summary>
/// User namespaces for sandboxes, held by a sleeping process; sandboxes enter them with nsenter
/// and keep them alive once they run. The holder works in its owner's directory (a job's or a
/// session's), where crash recovery finds it. In either kind, capabilities count only inside: mounting a
/// device, loading a module, raw I/O, setting the clock or rebooting stay impossible even for root.
/// </summary>
public static class UserNamespace
{
    /// <summary>
    /// Maps every id to itself, so that files made inside keep their real owners: for serving an
    /// existing image root, whose files belong to the host's ids. Root inside is the host's uid 0
    /// to the file system, so what the sandbox may write must be limited by its mounts.
    /// </summary>
    public static Task<HeldNamespace> CreateIdentityMappedAsync(IProcessRunner runner, string ownerDirectory, CancellationToken cancellationToken)
        => CreateAsync(runner, 0, 0, uint.MaxValue, ownerDirectory, cancellationToken);

    /// <summary>
    /// Maps ids 0 to <paramref name="count"/>-1 to host ids from <paramref name="hostBase"/>: root
    /// inside is an unprivileged id outside, so the host's own files (owned by the host's ids) are
    /// no more writable to it than to any user, whatever it mounts. Files made inside belong to the
    /// shifted ids on disk and show their inside ids to programs in the namespace.
    /// </summary>
    public static Task<HeldNamespace> CreateShiftedAsync(IProcessRunner runner, uint hostBase, uint count, string ownerDirectory, CancellationToken cancellationToken)
        => CreateAsync(runner, 0, hostBase, count, ownerDirectory, cancellationToken);

    private static async Task<HeldNamespace> CreateAsync(IProcessRunner runner, uint insideBase, uint hostBase, uint count, string ownerDirectory,
        CancellationToken cancellationToken)
    {
        var map = $"{insideBase} {hostBase} {count}\n";
        var created = await HeldNamespace.CreateAsync(runner, "user", ["--user"], ownerDirectory, cancellationToken);
        try
        {
            await File.WriteAllTextAsync($"/proc/{created.HolderProcessId}/uid_map", map, cancellationToken);
            await File.WriteAllTextAsync($"/proc/{created.HolderProcessId}/gid_map", map, cancellationToken);
            return created;
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }
    }
}
