using System.Net;
using System.Net.Sockets;
using System.Text;
using Cray.Ims.Jobs;
using Cray.Platform.Sandboxes;
using Cray.Processes;

namespace Cray.Ims.Worker;

/// <summary>
/// The private OpenSSH server of one job: its own configuration, host key and log lines, root login
/// with the job's key only, run in the job's sandbox (<see cref="JobSandbox"/>), every session
/// entering the jail (or the unjailed sandbox) through the entry script.
/// </summary>
public sealed class JobSshServer(JobWorkspace workspace, ImsWorkerOptions options, IProcessRunner runner, Action<string> log) : IAsyncDisposable
{
    public const string SshdPath = "/usr/sbin/sshd";

    private static IReadOnlyList<string>? sftpLibraries;

    private CancellationTokenSource? stop;
    private Task<ProcessResult>? sshd;
    private HeldNamespace? userNamespace;
    private IsolatedNetwork? network;
    private int sandboxProcessId;

    public int Port { get; private set; }

    /// <param name="mountNamespace">The job's own mount namespace, where its image root is mounted; null when the image root is a plain directory.</param>
    public async Task StartAsync(Job job, string authorizedKey, bool jail, HeldNamespace? mountNamespace, CancellationToken cancellationToken)
    {
        await WritePrivateFileAsync(workspace.AuthorizedKeys, authorizedKey.TrimEnd() + "\n", cancellationToken);
        // Served again after a layer is sealed: the same host key (and port, when it is still free) as before.
        if (!File.Exists(workspace.HostKey) || !File.Exists(workspace.HostKey + ".pub"))
        {
            File.Delete(workspace.HostKey);
            File.Delete(workspace.HostKey + ".pub");
            await runner.RunCheckedAsync(new ProcessRequest("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"ims-job-{job.Id}", "-f", workspace.HostKey])
            {
                Timeout = TimeSpan.FromMinutes(1),
            }, cancellationToken);
        }
        sftpLibraries ??= JobSandbox.LibrariesOf((await runner.RunCheckedAsync(new ProcessRequest("ldd", [JobSandbox.SftpServer]) { Timeout = TimeSpan.FromSeconds(30) },
            cancellationToken)).Output);
        await WritePrivateFileAsync(workspace.EntryScript, JobSandbox.EntryScript(job.Id, workspace, jail, job.RequireDkms, sftpLibraries), cancellationToken);
        await WritePrivateFileAsync(workspace.ShadowFile, JobSandbox.ShadowText, cancellationToken);
        File.SetUnixFileMode(workspace.EntryScript, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Port = attempt == 1 && Port != 0 && IsFree(options.SshAddress, Port) ? Port : FreePort(options.SshAddress);
            await File.WriteAllTextAsync(workspace.SshdConfig, Configuration(job), cancellationToken);
            stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            userNamespace = await UserNamespace.CreateIdentityMappedAsync(runner, workspace.Directory, cancellationToken);
            workspace.CreateNetworkDirectory();
            network = await IsolatedNetwork.StartAsync(runner, userNamespace, workspace.Directory, workspace.NetworkControlSocket, log, cancellationToken);
            var command = JobSandbox.SshdCommand(workspace, jail, job.RequireDkms, network.NamespacesDirectory);
            var request = HeldNamespace.Enter(command[0], command.Skip(1), mountNamespace, userNamespace) with
            {
                Timeout = options.UserWaitTimeout + TimeSpan.FromHours(1),
                OutputLine = line => log("sshd: " + line),
                Started = processId => sandboxProcessId = processId,
            };
            sshd = runner.RunAsync(request, stop.Token);
            if (await WaitUntilReadyAsync(cancellationToken))
            {
                log($"sshd is accepting connections on {options.SshAddress}:{Port}, in the job's sandbox; "
                    + (jail ? $"sessions are jailed in {workspace.ImageRoot}." : $"sessions see the host's programs read-only and {workspace.Directory}."));
                return;
            }
            var output = sshd.IsCompletedSuccessfully ? sshd.Result.Output : "";
            await StopAsync();
            if (!output.Contains("Address already in use", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"sshd did not start within {options.SshReadyTimeout.TotalSeconds:0} s. {output.Trim()}");
            }
            log($"Port {Port} was taken before sshd could bind it; trying another.");
        }
        throw new InvalidOperationException("sshd could not find a free port after 3 attempts.");
    }

    /// <summary>
    /// Gives open sessions a moment to end by themselves: the user's <c>touch /tmp/complete</c> is
    /// noticed at once, and stopping sshd before that command's session closes would make the
    /// client report a failure for a signal that was received.
    /// </summary>
    public async Task WaitForSessionsToEndAsync(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline && sandboxProcessId != 0)
        {
            // sshd's own children are its sessions (each with its privilege-separated helper).
            var server = ProcessTree.Descendants(sandboxProcessId).FirstOrDefault(processId => ProcessTree.Name(processId) == "sshd");
            if (server == 0 || ProcessTree.Children(server).Count == 0)
            {
                return;
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Stops sshd and every session it holds (they are its child processes).</summary>
    public async Task StopAsync()
    {
        if (stop is not null && sshd is not null)
        {
            await stop.CancelAsync();
            try
            {
                await sshd;
            }
            catch (Exception exception) when (exception is OperationCanceledException or ProcessFailedException)
            {
                // Stopping is what was asked for.
            }
        }
        stop?.Dispose();
        stop = null;
        sshd = null;
        sandboxProcessId = 0;
        if (network is not null)
        {
            await network.DisposeAsync();
            network = null;
        }
        if (userNamespace is not null)
        {
            await userNamespace.DisposeAsync();
            userNamespace = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private string Configuration(Job job)
    {
        var text = new StringBuilder();
        text.AppendLine($"# sshd for IMS job {job.Id}; written by cray-server, removed with the job.");
        text.AppendLine($"Port {Port}");
        text.AppendLine($"ListenAddress {options.SshAddress}");
        text.AppendLine($"HostKey {workspace.HostKey}");
        text.AppendLine("PidFile none");
        text.AppendLine($"AuthorizedKeysFile {workspace.AuthorizedKeys}");
        text.AppendLine("AllowUsers root");
        text.AppendLine("PermitRootLogin prohibit-password");
        text.AppendLine("PubkeyAuthentication yes");
        text.AppendLine("PasswordAuthentication no");
        text.AppendLine("KbdInteractiveAuthentication no");
        text.AppendLine("UsePAM no");
        text.AppendLine("StrictModes yes");
        text.AppendLine("X11Forwarding no");
        text.AppendLine("PrintMotd no");
        text.AppendLine("PrintLastLog no");
        // Ansible opens several connections at once.
        text.AppendLine("MaxStartups 64:30:128");
        text.AppendLine("MaxSessions 64");
        // Every session, sftp included, goes through the entry script into the sandbox.
        text.AppendLine($"Subsystem sftp {JobSandbox.SftpServer}");
        text.AppendLine($"ForceCommand {workspace.EntryScript}");
        text.AppendLine($"SetEnv IMS_JOB_ID={job.Id} IMS_ARCH={job.Arch} IMS_DKMS_ENABLED={(job.RequireDkms ? "True" : "False")}");
        return text.ToString();
    }

    private async Task<bool> WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + options.SshReadyTimeout;
        while (DateTime.UtcNow < deadline && sshd is { IsCompleted: false })
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Parse(options.SshAddress), Port, cancellationToken);
                using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                var banner = await reader.ReadLineAsync(timeout.Token);
                if (banner is not null && banner.StartsWith("SSH-2.0-", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }
            await Task.Delay(100, cancellationToken);
        }
        return false;
    }

    private static bool IsFree(string address, int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Parse(address), port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort(string address)
    {
        using var listener = new TcpListener(IPAddress.Parse(address), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WritePrivateFileAsync(string path, string content, CancellationToken cancellationToken)
    {
        File.Delete(path);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        await using var writer = new StreamWriter(path, new UTF8Encoding(false), options);
        await writer.WriteAsync(content.AsMemory(), cancellationToken);
    }
}
