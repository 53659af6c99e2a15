using Cray.Processes;

namespace Cray.Platform.Sandboxes;

/// <summary>
/// A network namespace of its own for sandboxes, owned by their user namespace, reaching outside
/// only through slirp4netns (user-mode NAT, itself sandboxed): package repositories and every
/// other address answer as they would to the host, but not the host's loopback (the API and any
/// service bound to 127.0.0.1) nor the host's abstract Unix sockets, which a sandbox sharing the
/// host's network namespace could connect to.
/// </summary>
public sealed class IsolatedNetwork : IAsyncDisposable
{
    public const string Program = "slirp4netns";

    /// <summary>The device slirp4netns makes in the namespace; its appearance says the network is up.</summary>
    private const string Device = "tap0";

    private readonly CancellationTokenSource stop = new();
    private HeldNamespace? network;
    private Task<ProcessResult>? translator;

    private IsolatedNetwork()
    {
    }

    /// <summary>The namespace files of the network's holder: a sandbox that binds this directory joins the network through its "net" entry.</summary>
    public string NamespacesDirectory => network!.NamespacesDirectory;

    /// <param name="controlSocket">Where slirp4netns listens for control requests: a path in its owner's directory, kept from sandboxed users, by which crash recovery also finds it.</param>
    public static async Task<IsolatedNetwork> StartAsync(IProcessRunner runner, HeldNamespace userNamespace, string ownerDirectory, string controlSocket,
        Action<string> log, CancellationToken cancellationToken)
    {
        var created = new IsolatedNetwork();
        try
        {
            created.network = await HeldNamespace.CreateAsync(runner, "net", ["--net"], ownerDirectory, cancellationToken, owner: userNamespace);
            File.Delete(controlSocket);
            // slirp4netns 1.2.0's sandbox makes only / private before it detaches the old root, so
            // its unmounts reach every shared mount of the namespace it started in: run in the host's,
            // it took the host's /run/netns/* namespaces away. It starts in a private copy instead
            // (unshare executes it, so its process and command line stay slirp4netns's).
            created.translator = runner.RunAsync(new ProcessRequest("unshare",
            [
                "--mount", "--propagation", "private", "--", Program,
                "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp", "--api-socket", controlSocket,
                created.network.HolderProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), Device,
            ])
            {
                Timeout = TimeSpan.FromDays(7),
                OutputLine = line =>
                {
                    if (!line.Contains("seccomp is experimental", StringComparison.Ordinal) && !line.Contains("tapfd", StringComparison.Ordinal))
                    {
                        log("slirp4netns: " + line);
                    }
                },
            }, created.stop.Token);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!File.ReadAllText($"/proc/{created.network.HolderProcessId}/net/dev").Contains(Device + ":", StringComparison.Ordinal))
            {
                if (created.translator.IsCompleted)
                {
                    var result = await created.translator;
                    throw new InvalidOperationException($"slirp4netns could not give the sandbox a network (exit code {result.ExitCode}): {result.Output.Trim()}");
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException("slirp4netns did not bring the sandbox's network up within 10 s.");
                }
                await Task.Delay(10, cancellationToken);
            }
            return created;
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (translator is not null)
        {
            try
            {
                await translator;
            }
            catch (Exception exception) when (exception is OperationCanceledException or ProcessFailedException)
            {
                // Stopping it was the point.
            }
        }
        if (network is not null)
        {
            await network.DisposeAsync();
        }
        stop.Dispose();
    }
}
