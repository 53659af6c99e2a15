using Cray.Ims.Jobs;
using Cray.Platform.Sandboxes;
using Cray.Processes;

namespace Cray.Ims.Worker;

/// <summary>
/// Where a create job's kiwi-ng build runs, and with it every package script and the recipe's
/// config.sh: image code from repositories the recipe names. kiwi needs root and mounts (it binds
/// /proc and /dev into the image root and chroots), so it gets them in a user namespace whose root
/// is an unprivileged id on the host (<see cref="HostIdBase"/> onward, <see cref="IdCount"/> ids):
/// the host's files are no more writable to it than to any user, whatever it mounts, and the
/// kernel's settings under /proc/sys stay the host's. Inside a bubblewrap sandbox it sees the
/// host's programs read-only and, of the job directory, only the recipe, the image root and its
/// own caches. The image root on disk belongs to the shifted ids; it is packed from inside the
/// namespace, where they are 0 and up again, so the image's owners come out as built.
/// </summary>
public sealed class RecipeBuildSandbox : IStagedImageRoot
{
    /// <summary>The first host id of the build's range: in the range systemd leaves to containers, far above users and services.</summary>
    public const uint HostIdBase = 0x6000_0000;

    public const uint IdCount = 65536;

    /// <summary>In the build's mount namespace, a private tmpfs where the pieces of the job directory the build may reach are bound, reachable by the shifted root (the data directory is not).</summary>
    private const string StagingDirectory = "/mnt";

    private static readonly string[] PackageManagerConfiguration = ["apt", "zypp", "dnf", "yum.repos.d", "kiwi.yml"];

    private readonly JobWorkspace workspace;
    private readonly HeldNamespace userNamespace;
    private readonly HeldNamespace mountNamespace;
    private readonly IProcessRunner runner;

    private RecipeBuildSandbox(JobWorkspace workspace, HeldNamespace userNamespace, HeldNamespace mountNamespace, IProcessRunner runner)
    {
        this.workspace = workspace;
        this.userNamespace = userNamespace;
        this.mountNamespace = mountNamespace;
        this.runner = runner;
    }

    public string HostView => workspace.ImageRoot;

    /// <summary>The pieces of the job directory the build reaches, each given to the shifted root.</summary>
    private static IEnumerable<(string Name, string HostPath)> Pieces(JobWorkspace workspace) =>
    [
        ("recipe", RecipeBuild.RecipeDirectory(workspace)),
        ("image-root", workspace.ImageRoot),
        ("kiwi-cache", Path.Combine(workspace.Directory, "kiwi-cache")),
        ("kiwi-temporary", Path.Combine(workspace.Directory, "kiwi-temporary")),
        ("result", Path.Combine(workspace.Directory, "result")),
    ];

    private static string Inside(string name) => $"{StagingDirectory}/{name}";

    public static async Task<RecipeBuildSandbox> CreateAsync(JobWorkspace workspace, IProcessRunner runner, CancellationToken cancellationToken)
    {
        var pieces = Pieces(workspace).ToList();
        foreach (var (_, hostPath) in pieces)
        {
            Directory.CreateDirectory(hostPath);
        }
        var owner = $"{HostIdBase}:{HostIdBase}";
        // --no-dereference: the recipe's links (checked to stay inside it) are changed, not what they name.
        await runner.RunCheckedAsync(new ProcessRequest("chown", ["-R", "--no-dereference", owner, "--", .. pieces.Select(piece => piece.HostPath)])
        {
            Timeout = TimeSpan.FromMinutes(5),
        }, cancellationToken);

        var userNamespace = await UserNamespace.CreateShiftedAsync(runner, HostIdBase, IdCount, workspace.Directory, cancellationToken);
        HeldNamespace? mountNamespace = null;
        try
        {
            mountNamespace = await HeldNamespace.CreateAsync(runner, "mnt", ["--mount", "--propagation", "private"], workspace.Directory, cancellationToken);
            await InMountNamespaceAsync(runner, mountNamespace, "mount", ["-t", "tmpfs", "-o", "mode=0755,nosuid,nodev,size=1m", "build-staging", StagingDirectory], cancellationToken);
            await InMountNamespaceAsync(runner, mountNamespace, "mkdir", [.. pieces.Select(piece => Inside(piece.Name))], cancellationToken);
            foreach (var (name, hostPath) in pieces)
            {
                await InMountNamespaceAsync(runner, mountNamespace, "mount", ["--bind", hostPath, Inside(name)], cancellationToken);
            }
            return new RecipeBuildSandbox(workspace, userNamespace, mountNamespace, runner);
        }
        catch
        {
            if (mountNamespace is not null)
            {
                await mountNamespace.DisposeAsync();
            }
            await userNamespace.DisposeAsync();
            throw;
        }
    }

    private static Task InMountNamespaceAsync(IProcessRunner runner, HeldNamespace mountNamespace, string program, IReadOnlyList<string> arguments,
        CancellationToken cancellationToken)
        => runner.RunCheckedAsync(HeldNamespace.Enter(program, arguments, mountNamespace) with { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);

    /// <summary>
    /// kiwi-ng in its sandbox. The recipe and the image root are at their host paths (what kiwi
    /// prints matches the job directory); debootstrap is told it runs in a container, so it binds
    /// device nodes instead of making them.
    /// </summary>
    public ProcessRequest Kiwi(IEnumerable<string> kiwiArguments)
    {
        var sandbox = new SandboxArguments().HostPrograms();
        foreach (var entry in PackageManagerConfiguration)
        {
            sandbox.ReadOnlyBindIfPresent("/etc/" + entry, "/etc/" + entry);
        }
        sandbox.ProcAndDevices()
            .Tmpfs("/tmp")
            .Tmpfs("/run")
            .Bind(Inside("kiwi-temporary"), "/var/tmp")
            .Bind(Inside("kiwi-cache"), "/var/cache/kiwi")
            .Bind(Inside("recipe"), RecipeBuild.RecipeDirectory(workspace))
            .Bind(Inside("image-root"), workspace.ImageRoot)
            .Capabilities([.. SandboxArguments.ImageRootCapabilities, "CAP_SYS_ADMIN"])
            .CleanEnvironment("/root")
            .SetEnvironment("container", "lxc")
            .WorkingDirectory("/");
        var command = sandbox.Command(RecipeBuild.KiwiProgram, kiwiArguments);
        return HeldNamespace.Enter(command[0], command.Skip(1), mountNamespace, userNamespace);
    }

    /// <summary>Packs the image root from inside the build's namespaces (so its owners are the image's own), then hands the file to the host's root.</summary>
    public async Task PackAsync(string resultPath, IReadOnlyList<string> squashfsOptions, Action<string> log, CancellationToken cancellationToken)
    {
        var packedInside = $"{Inside("result")}/rootfs.squashfs";
        var packedOnHost = Path.Combine(workspace.Directory, "result", "rootfs.squashfs");
        File.Delete(packedOnHost);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await runner.RunCheckedAsync(HeldNamespace.Enter("mksquashfs", [Inside("image-root"), packedInside, .. squashfsOptions], mountNamespace, userNamespace) with
        {
            Timeout = TimeSpan.FromHours(2),
            OutputLine = log,
        }, cancellationToken);
        if (new FileInfo(packedOnHost) is not { Exists: true, LinkTarget: null })
        {
            throw new JobFailedException("mksquashfs left no packed image root.");
        }
        await runner.RunCheckedAsync(new ProcessRequest("chown", ["--no-dereference", "0:0", "--", packedOnHost]) { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken);
        File.SetUnixFileMode(packedOnHost, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(packedOnHost, resultPath, overwrite: true);
        log($"Packed with mksquashfs in {stopwatch.Elapsed.TotalSeconds:0.0} s: {new FileInfo(resultPath).Length} bytes.");
    }

    public async ValueTask DisposeAsync()
    {
        await mountNamespace.DisposeAsync();
        await userNamespace.DisposeAsync();
    }
}
