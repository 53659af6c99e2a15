using Cray.Platform.Work;
using Cray.Processes;

namespace Cray.Cfs.Runner;

/// <summary>
/// The SSH key CFS logs into nodes with (spec and repo targets): the reference's <c>cfstrust</c>
/// secret. Generated once as DATA-DIR/cfs/ssh/id_ecdsa (0600); an admin puts the .pub into the
/// nodes' authorized_keys, or replaces the pair with an existing trust key. A certificate beside it
/// (<c>id_ecdsa-cert.pub</c>) is offered by ssh on its own.
/// </summary>
public sealed class NodeIdentity(CfsRunnerOptions options, IProcessRunner runner)
{
    private readonly AsyncLock gate = new();

    public string PrivateKey => Path.Combine(options.NodeKeyDirectory, "id_ecdsa");

    public string PublicKey => PrivateKey + ".pub";

    /// <summary>Creates the key pair when it does not exist yet and returns the private key's path.</summary>
    public Task<string> EnsureAsync(CancellationToken cancellationToken)
        => gate.RunAsync(async () =>
        {
            Directory.CreateDirectory(options.NodeKeyDirectory);
            File.SetUnixFileMode(options.NodeKeyDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            if (!File.Exists(PrivateKey))
            {
                // Generated under another name and moved, so a crash never leaves half a key pair in place.
                var pending = PrivateKey + ".new";
                foreach (var stale in new[] { pending, pending + ".pub" })
                {
                    File.Delete(stale);
                }
                await runner.RunCheckedAsync(new ProcessRequest("ssh-keygen", ["-q", "-t", "ecdsa", "-b", "384", "-N", "", "-C", "cray-cfs", "-f", pending])
                {
                    Timeout = TimeSpan.FromMinutes(1),
                }, cancellationToken);
                File.Move(pending + ".pub", PublicKey, overwrite: true);
                File.Move(pending, PrivateKey);
            }
            File.SetUnixFileMode(PrivateKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return PrivateKey;
        }, cancellationToken);
}
