using Cray.Ims.Jobs;
using Cray.Ims.Worker;

namespace Cray.Ims.Tests;

/// <summary>The job's entry script and sftp helper libraries, as sshd will run them.</summary>
public sealed class JobSandboxTests
{
    [Fact]
    public void LibrariesAreReadFromLddOutput()
    {
        const string ldd = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f61)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f62)\n";
        Assert.Equal(["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"], JobSandbox.LibrariesOf(ldd));
    }

    [Fact]
    public void QuotingSurvivesSingleQuotes() => Assert.Equal("'a b' 'it'\\''s'", JobSandbox.Quote(["a b", "it's"]));

    [Fact]
    public void TheJailedEntryScriptBindsTheImageRootAsRootAndDropsCapabilities()
    {
        var workspace = new JobWorkspace("/var/lib/cray-server/ims/jobs", "job-1");
        var script = JobSandbox.EntryScript("job-1", workspace, jail: true, requireDkms: false, ["/lib/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]);
        Assert.StartsWith("#!/bin/sh\n", script);
        Assert.Contains($"'--bind' '{workspace.ImageRoot}' '/'", script);
        Assert.Contains("'--cap-drop' 'ALL'", script);
        Assert.DoesNotContain("CAP_SYS_ADMIN", script);
        Assert.DoesNotContain("CAP_MKNOD", script);
        Assert.Contains("'--ro-bind' '/proc/sys' '/proc/sys'", script);
        Assert.DoesNotContain("'/sys' '/sys'", script);
        Assert.Contains("'/dev/.cray-sftp/ld-linux-x86-64.so.2' '--library-path' '/dev/.cray-sftp'", script);
    }

    [Fact]
    public void EverySessionJoinsTheJobsOwnNetworkWhoseControlSocketSshdDoesNotSee()
    {
        var workspace = new JobWorkspace("/var/lib/cray-server/ims/jobs", "job-4");
        var script = JobSandbox.EntryScript("job-4", workspace, jail: true, requireDkms: false, []);
        var sessions = script.Split('\n').Where(line => line.TrimStart().StartsWith("exec ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, sessions.Count);
        Assert.All(sessions, line => Assert.StartsWith("exec '/usr/bin/nsenter' '--net=/run/cray-session-namespaces/net' '--' '/usr/bin/bwrap'", line.TrimStart()));
        var sshd = string.Join(' ', JobSandbox.SshdCommand(workspace, jail: false, requireDkms: false, "/proc/42/ns"));
        Assert.Contains("--ro-bind /proc/42/ns /run/cray-session-namespaces", sshd);
        Assert.DoesNotContain(workspace.NetworkDirectory, sshd);
    }

    [Fact]
    public void WithRequireDkmsTheHostsSysIsThereReadOnly()
    {
        var workspace = new JobWorkspace("/var/lib/cray-server/ims/jobs", "job-2");
        Assert.Contains("'--ro-bind' '/sys' '/sys'", JobSandbox.EntryScript("job-2", workspace, jail: true, requireDkms: true, []));
        Assert.Contains("--ro-bind /sys /sys", string.Join(' ', JobSandbox.SshdCommand(workspace, jail: true, requireDkms: true, "/proc/42/ns")));
    }

    [Fact]
    public void UnjailedSessionsSeeTheSandboxOfSshdAndStartInTheJobDirectory()
    {
        var workspace = new JobWorkspace("/var/lib/cray-server/ims/jobs", "job-3");
        var script = JobSandbox.EntryScript("job-3", workspace, jail: false, requireDkms: false, []);
        Assert.Contains("'--bind' '/' '/'", script);
        Assert.Contains($"cd '\\''{workspace.Directory}'\\''", script);
        var sshd = JobSandbox.SshdCommand(workspace, jail: false, requireDkms: false, "/proc/42/ns");
        Assert.Contains(workspace.Directory, sshd);
        Assert.DoesNotContain("/var/lib/cray-server", sshd.Where(argument => !argument.StartsWith(workspace.Directory, StringComparison.Ordinal)));
    }
}
