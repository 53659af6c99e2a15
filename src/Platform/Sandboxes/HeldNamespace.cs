using Cray.Processes;

namespace Cray.Platform.Sandboxes;

/// <summary>
/// A namespace made by <c>unshare</c> and held by a sleeping process until disposed; programs join
/// it with nsenter (<see cref="Enter"/>). Once the last process in it ends, the kernel takes it
/// down with everything mounted in it, so a crash that kills its processes leaves nothing behind.
/// The holder's working directory is the owner's directory, where crash recovery finds it.
/// </summary>
public sealed class HeldNamespace : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly string kind;
    private Task<ProcessResult>? holder;

    private HeldNamespace(string kind) => this.kind = kind;

    public int HolderProcessId { get; private set; }

    /// <summary>The namespace's file, as nsenter takes it.</summary>
    public string Path => $"/proc/{HolderProcessId}/ns/{kind}";

    /// <summary>Where the host reaches a path as processes in this namespace see it (their root, through /proc).</summary>
    public string View(string path) => $"/proc/{HolderProcessId}/root{path}";

    /// <param name="kind">The namespace's name under /proc/PID/ns: "user", "mnt" or "net".</param>
    /// <param name="owner">The user namespace that owns the new namespace (whose root may then join it); null for the host's.</param>
    public static async Task<HeldNamespace> CreateAsync(IProcessRunner runner, string kind, IReadOnlyList<string> unshareOptions, string? workingDirectory,
        CancellationToken cancellationToken, HeldNamespace? owner = null)
    {
        var created = new HeldNamespace(kind);
        var started = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = new ProcessRequest("unshare", [.. unshareOptions, "--", "sleep", "infinity"]);
        created.holder = runner.RunAsync((owner is null ? holder : Enter(holder.FileName, holder.Arguments, owner)) with
        {
            Timeout = TimeSpan.FromDays(7),
            WorkingDirectory = workingDirectory,
            Started = started.SetResult,
        }, created.stop.Token);
        try
        {
            if (await Task.WhenAny(started.Task, created.holder) == created.holder)
            {
                throw new InvalidOperationException($"unshare {string.Join(' ', unshareOptions)} could not start: {(await created.holder).Output.Trim()}");
            }
            created.HolderProcessId = await started.Task;
            var own = new FileInfo($"/proc/self/ns/{kind}").LinkTarget;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            // unshare makes the namespace before it executes sleep: wait until the holder is in it.
            while (new FileInfo(created.Path).LinkTarget == own)
            {
                if (DateTime.UtcNow > deadline || created.holder.IsCompleted)
                {
                    throw new InvalidOperationException($"unshare {string.Join(' ', unshareOptions)} did not make a namespace.");
                }
                await Task.Delay(2, cancellationToken);
            }
            return created;
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }
    }

    /// <summary>nsenter's option that joins this namespace.</summary>
    public string EnterOption => (kind == "mnt" ? "--mount=" : $"--{kind}=") + Path;

    /// <summary>The directory of the holder's namespace files; bound into a sandbox, it lets the sandbox's root join them (a bound namespace file itself cannot be bound by bwrap).</summary>
    public string NamespacesDirectory => $"/proc/{HolderProcessId}/ns";

    /// <summary>Runs a program in these namespaces (nsenter joins them in the order that works, and makes the program root in a user namespace).</summary>
    public static ProcessRequest Enter(string program, IEnumerable<string> arguments, params HeldNamespace?[] namespaces)
        => new("nsenter", [.. namespaces.OfType<HeldNamespace>().Select(held => held.EnterOption), "--", program, .. arguments]);

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (holder is not null)
        {
            try
            {
                await holder;
            }
            catch (OperationCanceledException)
            {
                // Stopping it was the point.
            }
        }
        stop.Dispose();
    }
}
