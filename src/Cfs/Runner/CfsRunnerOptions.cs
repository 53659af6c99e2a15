namespace Cray.Cfs.Runner;

/// <summary>Where the runner keeps its files and how it reaches IMS (only over HTTP, like any client).</summary>
public sealed record CfsRunnerOptions
{
    /// <summary>IMS's unversioned API root, e.g. http://127.0.0.1:8280/apis/ims.</summary>
    public required string ImsUrl { get; init; }

    /// <summary>One directory per running session: keys, inventory, checked-out layers. Removed at the end.</summary>
    public required string SessionsDirectory { get; init; }

    public required string LogsDirectory { get; init; }

    /// <summary>Bare mirrors of layer repositories, so a second session does not clone again.</summary>
    public required string GitCacheDirectory { get; init; }

    /// <summary>Named Ansible configurations (<c>NAME.cfg</c>); <c>cfs-default-ansible-cfg</c> ships with the server.</summary>
    public required string AnsibleConfigsDirectory { get; init; }

    /// <summary>The key CFS logs into nodes with (spec and repo targets), the reference's cfstrust.</summary>
    public required string NodeKeyDirectory { get; init; }

    /// <summary>The bearer token for IMS when the server requires tokens (--auth token); null otherwise.</summary>
    public Cray.Platform.Authentication.AccessSecret? ImsAccessToken { get; init; }

    /// <summary>With TLS, the runner calls its own server's IMS and trusts exactly that server's certificate.</summary>
    public string? ImsCertificateThumbprint { get; init; }

    public int Slots { get; init; } = 2;

    /// <summary>The runner's name in the sessions it claims (--worker-name, default the host name) and how long its leases last.</summary>
    public Cray.Platform.Work.LeaseSettings Leases { get; init; } = new(Environment.MachineName, Cray.Platform.Work.LeaseSettings.DefaultDuration);

    public TimeSpan SshReadyTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}
