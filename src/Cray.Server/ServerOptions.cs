using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cray.Artifacts;
using Cray.Cfs.Runner;
using Cray.Ims.Jobs;
using Cray.Platform.Storage;

namespace Cray.Server;

/// <summary>The server's command-line flags, checked before anything starts.</summary>
public sealed record ServerOptions(string ListenHost, int ListenPort, string DataDirectory, IReadOnlySet<string> Roles, ImsWorkerOptions ImsWorker, CfsRunnerOptions CfsRunner)
{
    public const string DefaultListen = "127.0.0.1:8280";
    public const string DefaultDataDirectory = "/var/lib/cray-server";
    public const string ApiRole = "api";
    public const string ImsWorkerRole = "ims-worker";
    public const string CfsRunnerRole = "cfs-runner";
    public static readonly string[] AllRoles = [ApiRole, ImsWorkerRole, CfsRunnerRole];

    /// <summary>Every flag with its help text, in the order help lists them.</summary>
    public static readonly ServerFlag[] Flags =
    [
        new("listen", "HOST:PORT", $"where the API listens (default {DefaultListen}; another address needs TLS and --auth token)"),
        new("data-dir", "DIR", $"for the database, the artifact repository, job directories and logs (default {DefaultDataDirectory})"),
        new("store", "ADDRESS", "where the records live: sqlite (in DATA-DIR, the default) or postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=require]"),
        new("store-password-file", "FILE", "file whose first line is the PostgreSQL password (else PGPASSWORD, else ~/.pgpass)"),
        new("artifacts", "KIND", "where the artifact repository lives: files (in DATA-DIR, the default) or s3"),
        new("s3-endpoint", "URL", "URL of the S3 service (Ceph RADOS Gateway) with --artifacts s3 (else AWS_ENDPOINT_URL)"),
        new("s3-region", "REGION", "S3 region to sign for (default AWS_REGION, else us-east-1)"),
        new("s3-access-key-file", "FILE", "file whose first line is the S3 access key (else AWS_ACCESS_KEY_ID); with --s3-secret-key-file"),
        new("s3-secret-key-file", "FILE", "file whose first line is the S3 secret key (else AWS_SECRET_ACCESS_KEY)"),
        new("key-ring-secret-file", "FILE", "file whose first line (32+ characters) seals the key ring that encrypts CFS source credentials; the same on every server of a shared store (else CRAY_KEY_RING_SECRET; else, with SQLite, one made in DATA-DIR)"),
        new("roles", "ROLES", $"comma list of {string.Join(", ", AllRoles)}, or all (default all)"),
        new("worker-name", "NAME", "this server's IMS worker and CFS runner claim work under, unique among the servers sharing a store (default the host name)"),
        new("ims-worker-slots", "N", "customize jobs run at once (default 2)"),
        new("ims-worker-arch", "ARCHES", "comma list of the architectures whose jobs the worker takes, x86_64 and/or aarch64 (default this machine's)"),
        new("ims-arch-wait-timeout", "DURATION", "how long a job waits for a live worker of its architecture before it ends in error (default 1h)"),
        new("ims-jobs-dir", "DIR", "for job image roots (default DATA-DIR/ims/jobs)"),
        new("ims-source-cache-size", "SIZE", "bound of the worker's cache of verified source images, e.g. 20G, 500M (default 50G; unused when the artifacts are on this host)"),
        new("ims-ssh-address", "ADDRESS", "IP address each job's sshd listens on and that connection_info names (default 127.0.0.1)"),
        new("ims-user-wait-timeout", "DURATION", "how long a job waits for the user's complete/failed signal, e.g. 30m, 24h (default 24h)"),
        new("ims-compressor", "COMPRESSOR", $"mksquashfs compressor for results: {string.Join(", ", ImsWorkerOptions.Compressors)} (default zstd)"),
        new("ims-pack", "MODE", "incremental: a customize job copies what it did not change from the source image as stored and compresses only what changed (mksquashfs when it cannot, or to compact); full: mksquashfs of the whole image every time (default incremental)"),
        new("ims-repository-wait-timeout", "DURATION", "how long a create job waits for its recipe's repositories to answer (default 10m)"),
        new("ims-build-timeout", "DURATION", "how long kiwi-ng may take to build an image root (default 4h)"),
        new("ims-enable-dkms", "BOOL", "true to give jobs that do not set require_dkms the host's /sys, read-only, in their jails (default false)"),
        new("tls-certificate", "FILE", "PEM certificate (chain): the API speaks HTTPS; with --tls-key"),
        new("tls-key", "FILE", "PEM private key of --tls-certificate"),
        new("auth", "MODE", "none, or token: every API request needs a bearer token from `cray-server tokens create NAME` (default none)"),
        new("cfs-runner-slots", "N", "sessions run at once (default 2)"),
        new("cfs-ims-token-file", "FILE", "JSON file with the access_token the runner sends to --cfs-ims-url when that IMS requires tokens"),
        new("cfs-ims-certificate", "FILE", "PEM certificate the runner trusts at --cfs-ims-url whatever its issuer (the API servers' own self-signed one)"),
        new("lease-duration", "DURATION", "how long a worker's hold on a job or session lasts unless renewed (renewed every third of it), e.g. 60s, 2m (default 60s)"),
        new("cfs-ims-url", "URL", "URL of the IMS API the runner calls (default: this server's, http://LISTEN/apis/ims)"),
        new("log-level", "LEVEL", "trace, debug, information, warning or error: the least a log line must be to be written (default information; framework lines start at warning unless debug or trace)"),
        new("log-format", "FORMAT", "text, or json for log collectors: one JSON object a line (default text)"),
    ];

    /// <summary>--log-level: the server's own lines from this level; the framework's from warning, unless this is debug or trace.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>--log-format json: one JSON object per line.</summary>
    public bool JsonLogs { get; init; }

    private static readonly Dictionary<string, LogLevel> LogLevels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["trace"] = LogLevel.Trace,
        ["debug"] = LogLevel.Debug,
        ["information"] = LogLevel.Information,
        ["info"] = LogLevel.Information,
        ["warning"] = LogLevel.Warning,
        ["error"] = LogLevel.Error,
    };

    /// <summary>--store: SQLite in the data directory, or a PostgreSQL database.</summary>
    public required RecordStoreAddress Store { get; init; }

    /// <summary>--artifacts: files in the data directory, or an S3 service.</summary>
    public required ArtifactStoreAddress Artifacts { get; init; }

    /// <summary>The API and the CFS runner decrypt source credentials; an IMS worker alone does not.</summary>
    public bool ReadsSourceCredentials => HasRole(ApiRole) || HasRole(CfsRunnerRole);

    /// <summary>--key-ring-secret-file or CRAY_KEY_RING_SECRET; null when the server keeps its own in the data directory.</summary>
    public Cray.Platform.KeyRing.KeyRingSecret? KeyRingSecret { get; init; }

    /// <summary>--auth token: every API request needs a bearer token (cray-server tokens create NAME).</summary>
    public bool RequireTokens { get; init; }

    /// <summary>The token this process's runner uses for its own IMS API; accepted only by this process.</summary>
    public Cray.Platform.Authentication.AccessSecret? InternalAccessToken { get; init; }

    /// <summary>The generic host's own flags (the in-process test host passes them), accepted and handed to the host.</summary>
    public static readonly string[] HostFlags = ["environment", "contentRoot", "applicationName"];

    /// <summary>--tls-certificate and --tls-key: the server speaks HTTPS with this certificate.</summary>
    public X509Certificate2? TlsCertificate { get; init; }

    public string ListenUrl => UrlOf(TlsCertificate is not null, ListenHost, ListenPort);

    private static string UrlOf(bool tls, string host, int port) => $"{(tls ? "https" : "http")}://{(host.Contains(':') ? $"[{host}]" : host)}:{port}";

    public bool HasRole(string role) => Roles.Contains(role);

    /// <summary>Reads the flags from configuration (the command line, the environment or test settings).</summary>
    public static ServerOptions FromConfiguration(IConfiguration configuration)
    {
        var (host, port) = ParseListen(configuration["listen"] ?? DefaultListen);
        var dataDirectory = Path.GetFullPath(configuration["data-dir"] ?? DefaultDataDirectory);
        var rolesText = configuration["roles"] ?? "all";
        var roles = rolesText == "all"
            ? AllRoles.ToHashSet()
            : rolesText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var unknown = roles.Except(AllRoles).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"--roles: unknown role(s) {string.Join(", ", unknown)}; choose from {string.Join(", ", AllRoles)} or 'all'.");
        }
        var auth = configuration["auth"] ?? "none";
        if (auth is not ("none" or "token"))
        {
            throw new ArgumentException($"--auth: '{auth}' is not none or token.");
        }
        var requireTokens = auth == "token";
        var certificate = ReadCertificate(configuration["tls-certificate"], configuration["tls-key"]);
        if (!IsLoopback(host) && (certificate is null || !requireTokens))
        {
            throw new ArgumentException(
                $"--listen: refusing to listen on {host}: a non-loopback address needs --tls-certificate and --tls-key, and --auth token; otherwise cray-server only listens on 127.0.0.1, ::1 or localhost.");
        }
        // The runner calls its own IMS on loopback: an any-address listener answers there too.
        var ownHost = host is "0.0.0.0" ? "127.0.0.1" : host is "::" ? "::1" : host;
        var runner = ReadCfsRunner(configuration, dataDirectory, UrlOf(certificate is not null, ownHost, port));
        if (certificate is not null && configuration["cfs-ims-url"] is null)
        {
            runner = runner with { ImsCertificateThumbprint = certificate.Thumbprint };
        }
        if (configuration["cfs-ims-certificate"] is { } imsCertificateFile)
        {
            try
            {
                using var imsCertificate = X509Certificate2.CreateFromPem(File.ReadAllText(imsCertificateFile));
                runner = runner with { ImsCertificateThumbprint = imsCertificate.Thumbprint };
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new ArgumentException($"--cfs-ims-certificate: cannot read a PEM certificate from {imsCertificateFile}: {exception.Message}");
            }
        }
        if (configuration["cfs-ims-token-file"] is { } tokenFile)
        {
            if (Uri.TryCreate(runner.ImsUrl, UriKind.Absolute, out var imsUri) && imsUri.Scheme == Uri.UriSchemeHttp && !imsUri.IsLoopback)
            {
                throw new ArgumentException($"--cfs-ims-token-file: the token would cross the network in plain text to {runner.ImsUrl}; use an https:// --cfs-ims-url.");
            }
            runner = runner with { ImsAccessToken = new Cray.Platform.Authentication.AccessSecret(ReadTokenFile(tokenFile)) };
        }
        Cray.Platform.Authentication.AccessSecret? internalToken = null;
        if (configuration["cfs-ims-token-file"] is null && requireTokens && configuration["cfs-ims-url"] is null)
        {
            // The runner calls this server's own IMS API: with a token only this process knows.
            internalToken = new Cray.Platform.Authentication.AccessSecret(Cray.Platform.Authentication.AccessTokens.NewSecret());
            runner = runner with { ImsAccessToken = internalToken };
        }
        var workerName = configuration["worker-name"] ?? Environment.MachineName;
        if (!Cray.Platform.Work.LeaseSettings.IsValidWorkerName(workerName))
        {
            throw new ArgumentException($"--worker-name: '{workerName}' is not 1 to 63 letters, digits, '-', '.' or '_'.");
        }
        var leaseText = configuration["lease-duration"] ?? "60s";
        var leaseDuration = JobRequests.ParseAge(leaseText) is { } parsedLease && parsedLease >= TimeSpan.FromSeconds(3)
            ? parsedLease
            : throw new ArgumentException($"--lease-duration: '{leaseText}' is not a duration of at least 3s, such as 60s or 2m.");
        var leases = new Cray.Platform.Work.LeaseSettings(workerName, leaseDuration);
        runner = runner with { Leases = leases };
        var store = RecordStoreAddress.Parse(configuration["store"], dataDirectory, configuration["store-password-file"], Environment.GetEnvironmentVariable);
        // Only the API and the runner read source credentials; an IMS worker alone needs no secret.
        var keyRingSecret = Cray.Platform.KeyRing.KeyRingSecret.FromFlagOrEnvironment(configuration["key-ring-secret-file"], Environment.GetEnvironmentVariable,
            storeIsShared: store.PostgresConnectionString is not null && (roles.Contains(ApiRole) || roles.Contains(CfsRunnerRole)));
        var logLevelText = configuration["log-level"] ?? "information";
        var logLevel = LogLevels.TryGetValue(logLevelText, out var parsedLevel)
            ? parsedLevel
            : throw new ArgumentException($"--log-level: '{logLevelText}' is not trace, debug, information, warning or error.");
        var logFormat = configuration["log-format"] ?? "text";
        if (logFormat is not ("text" or "json"))
        {
            throw new ArgumentException($"--log-format: '{logFormat}' is not text or json.");
        }
        return new ServerOptions(host, port, dataDirectory, roles, ReadImsWorker(configuration, dataDirectory) with { Leases = leases }, runner)
        {
            LogLevel = logLevel,
            JsonLogs = logFormat == "json",
            Store = store,
            KeyRingSecret = keyRingSecret,
            Artifacts = ArtifactStoreAddress.Parse(new ArtifactStoreFlags(configuration["artifacts"], configuration["s3-endpoint"], configuration["s3-region"],
                configuration["s3-access-key-file"], configuration["s3-secret-key-file"]), dataDirectory, Environment.GetEnvironmentVariable),
            TlsCertificate = certificate,
            RequireTokens = requireTokens,
            InternalAccessToken = internalToken,
        };
    }

    private static string ReadTokenFile(string path)
    {
        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))?["access_token"]?.GetValue<string>()
                ?? throw new ArgumentException($"--cfs-ims-token-file: {path} has no access_token.");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new ArgumentException($"--cfs-ims-token-file: cannot read a token from {path}: {exception.Message}");
        }
    }

    private static CfsRunnerOptions ReadCfsRunner(IConfiguration configuration, string dataDirectory, string listenUrl)
    {
        var slotsText = configuration["cfs-runner-slots"] ?? "2";
        if (!int.TryParse(slotsText, NumberStyles.None, CultureInfo.InvariantCulture, out var slots) || slots is < 1 or > 64)
        {
            throw new ArgumentException($"--cfs-runner-slots: '{slotsText}' is not a number from 1 to 64.");
        }
        var imsUrl = configuration["cfs-ims-url"] ?? $"{listenUrl}/apis/ims";
        if (!Uri.TryCreate(imsUrl, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"--cfs-ims-url: '{imsUrl}' is not an http(s) URL.");
        }
        var cfs = Path.Combine(dataDirectory, "cfs");
        return new CfsRunnerOptions
        {
            ImsUrl = imsUrl,
            SessionsDirectory = Path.Combine(cfs, "sessions"),
            LogsDirectory = Path.Combine(cfs, "logs"),
            GitCacheDirectory = Path.Combine(cfs, "git-cache"),
            AnsibleConfigsDirectory = Path.Combine(cfs, "ansible-configs"),
            NodeKeyDirectory = Path.Combine(cfs, "ssh"),
            Slots = slots,
        };
    }

    private static ImsWorkerOptions ReadImsWorker(IConfiguration configuration, string dataDirectory)
    {
        var slotsText = configuration["ims-worker-slots"] ?? "2";
        if (!int.TryParse(slotsText, NumberStyles.None, CultureInfo.InvariantCulture, out var slots) || slots is < 1 or > 64)
        {
            throw new ArgumentException($"--ims-worker-slots: '{slotsText}' is not a number from 1 to 64.");
        }
        var sshAddress = configuration["ims-ssh-address"] ?? "127.0.0.1";
        if (!IPAddress.TryParse(sshAddress, out _))
        {
            throw new ArgumentException($"--ims-ssh-address: '{sshAddress}' is not an IP address.");
        }
        TimeSpan Duration(string flag, string fallback)
        {
            var text = configuration[flag] ?? fallback;
            return JobRequests.ParseAge(text) ?? throw new ArgumentException($"--{flag}: '{text}' is not a duration such as 30m or 24h.");
        }
        var wait = Duration("ims-user-wait-timeout", "24h");
        var repositoryWait = Duration("ims-repository-wait-timeout", "10m");
        var buildTimeout = Duration("ims-build-timeout", "4h");
        var compressor = configuration["ims-compressor"] ?? "zstd";
        if (!ImsWorkerOptions.Compressors.Contains(compressor))
        {
            throw new ArgumentException($"--ims-compressor: '{compressor}' is not one of {string.Join(", ", ImsWorkerOptions.Compressors)}.");
        }
        var packText = configuration["ims-pack"] ?? "incremental";
        var packing = packText switch
        {
            "incremental" => ImagePacking.Incremental,
            "full" => ImagePacking.Full,
            _ => throw new ArgumentException($"--ims-pack: '{packText}' is not incremental or full."),
        };
        var dkmsText = configuration["ims-enable-dkms"] ?? "false";
        if (!bool.TryParse(dkmsText, out var dkms))
        {
            throw new ArgumentException($"--ims-enable-dkms: '{dkmsText}' is not true or false.");
        }
        var archText = configuration["ims-worker-arch"] ?? Cray.Ims.RemoteBuildNodes.WorkerArchitectures.OfThisMachine();
        var architectures = Cray.Ims.RemoteBuildNodes.WorkerArchitectures.Parse(archText)
            ?? throw new ArgumentException($"--ims-worker-arch: '{archText}' is not a comma list of {string.Join(", ", Cray.Ims.Model.Architectures.All)}.");
        var cacheText = configuration["ims-source-cache-size"] ?? "50G";
        var cacheBytes = ByteSize(cacheText) ?? throw new ArgumentException($"--ims-source-cache-size: '{cacheText}' is not a size such as 20G or 500M.");
        return new ImsWorkerOptions
        {
            JobsDirectory = Path.GetFullPath(configuration["ims-jobs-dir"] ?? Path.Combine(dataDirectory, "ims", "jobs")),
            SourceCacheDirectory = Path.Combine(dataDirectory, "ims", "source-cache"),
            SourceCacheBytes = cacheBytes,
            LogsDirectory = Path.Combine(dataDirectory, "ims", "logs"),
            Slots = slots,
            SshAddress = sshAddress,
            UserWaitTimeout = wait,
            RepositoryWaitTimeout = repositoryWait,
            BuildTimeout = buildTimeout,
            Architectures = architectures,
            ArchitectureWaitTimeout = Duration("ims-arch-wait-timeout", "1h"),
            Compressor = compressor,
            Packing = packing,
            EnableDkmsByDefault = dkms,
        };
    }

    /// <summary>A size in bytes, or with a K, M, G or T suffix (powers of 1024).</summary>
    public static long? ByteSize(string text)
    {
        var suffixes = "KMGT";
        var trimmed = text.Trim().TrimEnd('B', 'b');
        var shift = 0;
        if (trimmed.Length > 0 && suffixes.IndexOf(char.ToUpperInvariant(trimmed[^1])) is var index and >= 0)
        {
            shift = 10 * (index + 1);
            trimmed = trimmed[..^1];
        }
        return long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number <= long.MaxValue >> shift ? number << shift : null;
    }

    private static X509Certificate2? ReadCertificate(string? certificateFile, string? keyFile)
    {
        if (certificateFile is null && keyFile is null)
        {
            return null;
        }
        if (certificateFile is null || keyFile is null)
        {
            throw new ArgumentException("--tls-certificate and --tls-key go together: give both PEM files or neither.");
        }
        try
        {
            using var fromPem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            // Kestrel on Linux needs the key in an exportable form it can hand to OpenSSL.
            return X509CertificateLoader.LoadPkcs12(fromPem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ArgumentException($"--tls-certificate/--tls-key: cannot load {certificateFile} with {keyFile}: {exception.Message}");
        }
    }

    private static bool IsLoopback(string host) => host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static (string Host, int Port) ParseListen(string listen)
    {
        var separator = listen.LastIndexOf(':');
        if (separator <= 0 || !int.TryParse(listen[(separator + 1)..], out var port) || port is < 0 or > 65535)
        {
            throw new ArgumentException($"--listen: '{listen}' is not HOST:PORT (for example {DefaultListen}).");
        }
        var host = listen[..separator].Trim('[', ']');
        if (host != "localhost" && !IPAddress.TryParse(host, out _))
        {
            throw new ArgumentException($"--listen: '{host}' is not an IP address or localhost.");
        }
        return (host, port);
    }
}
