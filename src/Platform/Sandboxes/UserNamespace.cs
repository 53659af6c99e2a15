using Cray.Platform.Processes;

namespace Cray.Platform.Sandboxes;

/// <summary>
/// A user namespace that maps every id to itself, so that files made inside keep their real owners,
/// while the capabilities of its processes count only inside it: mounting a device, loading a
/// module, raw I/O, setting the clock or rebooting stay impossible even for its root. Sandboxes
/// enter it with nsenter and keep it alive once they run.
/// </summary>
public static class UserNamespace
{
    private const string IdentityMap = "0 0 4294967295\n";

    public static async Task<HeldNamespace> CreateAsync(IProcessRunner runner, CancellationToken cancellationToken)
    {
        var created = await HeldNamespace.CreateAsync(runner, "user", ["--user"], null, cancellationToken);
        try
        {
            await File.WriteAllTextAsync($"/proc/{created.HolderProcessId}/uid_map", IdentityMap, cancellationToken);
            await File.WriteAllTextAsync($"/proc/{created.HolderProcessId}/gid_map", IdentityMap, cancellationToken);
            return created;
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }
    }
}
