namespace Cray.Ims.Jobs;

/// <summary>How jobs run; most values have a server flag (see cray-server --help).</summary>
public sealed record ImsWorkerOptions
{
    /// <summary>Where job directories (the image roots the jails serve) live. Every component must be root-owned and not group/world-writable.</summary>
    public required string JobsDirectory { get; init; }

    public required string LogsDirectory { get; init; }

    /// <summary>Where verified source root file systems are kept between jobs (when the artifact store is not on this host).</summary>
    public required string SourceCacheDirectory { get; init; }

    /// <summary>The source cache's bound; the least recently used sources go first.</summary>
    public long SourceCacheBytes { get; init; } = 50L << 30;

    /// <summary>How many jobs run at once.</summary>
    public int Slots { get; init; } = 2;

    /// <summary>The worker's name in the jobs it claims (--worker-name, default the host name) and how long its leases last.</summary>
    public Cray.Platform.Work.LeaseSettings Leases { get; init; } = new(Environment.MachineName, Cray.Platform.Work.LeaseSettings.DefaultDuration);

    /// <summary>The architectures whose jobs this worker takes (--ims-worker-arch): its machine's own unless it emulates others.</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [RemoteBuildNodes.WorkerArchitectures.OfThisMachine()];

    /// <summary>How long a job waits for a live worker of its architecture before it ends in error.</summary>
    public TimeSpan ArchitectureWaitTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The address each job's sshd listens on, and the host given in connection_info.</summary>
    public string SshAddress { get; init; } = "127.0.0.1";

    /// <summary>How long a job waits for the user's complete or failed signal before it ends in error.</summary>
    public TimeSpan UserWaitTimeout { get; init; } = TimeSpan.FromHours(24);

    public TimeSpan SshReadyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The mksquashfs compressor for results: zstd by default, gzip for kernels without zstd support.</summary>
    public string Compressor { get; init; } = "zstd";

    /// <summary>How customize results are packed: incrementally from the source image and the overlay's changes, or wholly with mksquashfs.</summary>
    public ImagePacking Packing { get; init; } = ImagePacking.Incremental;

    /// <summary>Whether customize jobs that do not say otherwise get /proc, /sys and /dev mounted in the image root (the reference's require_dkms).</summary>
    public bool EnableDkmsByDefault { get; init; }

    /// <summary>How long a create job waits for its recipe's package repositories to answer.</summary>
    public TimeSpan RepositoryWaitTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long kiwi-ng may take to build an image root.</summary>
    public TimeSpan BuildTimeout { get; init; } = TimeSpan.FromHours(4);

    public static readonly string[] Compressors = ["zstd", "gzip", "xz", "lz4", "lzo"];
}

/// <summary>--ims-pack: how a customize job packs its result.</summary>
public enum ImagePacking
{
    /// <summary>Copy what did not change from the source image as stored, compress only what changed; mksquashfs when the packer declines.</summary>
    Incremental,

    /// <summary>mksquashfs of the whole merged view, every time.</summary>
    Full,
}
