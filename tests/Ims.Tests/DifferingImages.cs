using Cray.Processes;

namespace Cray.Ims.Tests;

/// <summary>
/// Two small root file systems, packed with mksquashfs, that differ in every way a comparison tells
/// apart (and in times, which it leaves out), each with a dpkg status file.
/// </summary>
internal static class DifferingImages
{
    public const int BlockSize = 128 * 1024;

    public const string FromStatus = """
        Package: bash
        Status: install ok installed
        Priority: required
        Architecture: amd64
        Version: 5.2.15-2
        Description: GNU Bourne Again SHell
         Bash is an sh-compatible command language interpreter: it reads
         commands from the standard input.

        Package: removed-package
        Status: install ok installed
        Architecture: all
        Version: 1.0

        Package: epoch-package
        Status: install ok installed
        Architecture: amd64
        Version: 1:2.0-1

        Package: tilde-package
        Status: install ok installed
        Architecture: amd64
        Version: 1.0~rc1-1

        Package: downgraded-package
        Status: install ok installed
        Architecture: amd64
        Version: 2.0

        Package: config-only
        Status: deinstall ok config-files
        Architecture: amd64
        Version: 3.0

        Package: held-package
        Status: hold ok installed
        Architecture: amd64
        Version: 4.0

        Package: libc6
        Status: install ok installed
        Architecture: amd64
        Multi-Arch: same
        Version: 2.36-9

        Package: libc6
        Status: install ok installed
        Architecture: i386
        Multi-Arch: same
        Version: 2.36-9
        """;

    public const string ToStatus = """
        Package: bash
        Status: install ok installed
        Priority: required
        Architecture: amd64
        Version: 5.2.15-3
        Description: GNU Bourne Again SHell
         Bash is an sh-compatible command language interpreter.

        Package: epoch-package
        Status: install ok installed
        Architecture: amd64
        Version: 2.5-1

        Package: tilde-package
        Status: install ok installed
        Architecture: amd64
        Version: 1.0-1

        Package: downgraded-package
        Status: install ok installed
        Architecture: amd64
        Version: 1.9

        Package: config-only
        Status: install ok installed
        Architecture: amd64
        Version: 3.0

        Package: held-package
        Status: hold ok installed
        Architecture: amd64
        Version: 4.0

        Package: libc6
        Status: install ok installed
        Architecture: amd64
        Multi-Arch: same
        Version: 2.36-10

        Package: added-package
        Status: install ok installed
        Architecture: amd64
        Version: 0.9-1
        """;

    public static async Task RunAsync(string program, params string[] arguments)
        => await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest(program, arguments) { Timeout = TimeSpan.FromMinutes(5) });

    /// <summary>Packs both trees under <paramref name="workspace"/>; the second with <paramref name="toCompressor"/>.</summary>
    public static async Task<(string From, string To)> BuildAsync(string workspace, string toCompressor = "zstd", bool withPackages = true)
    {
        var fromTree = Path.Combine(workspace, "from-tree");
        var toTree = Path.Combine(workspace, "to-tree");
        await BuildTreeAsync(fromTree, from: true, withPackages);
        await BuildTreeAsync(toTree, from: false, withPackages);
        var from = Path.Combine(workspace, "from.squashfs");
        var to = Path.Combine(workspace, "to.squashfs");
        await RunAsync("mksquashfs", [fromTree, from, .. SquashfsOptions.For("zstd")]);
        await RunAsync("mksquashfs", [toTree, to, .. SquashfsOptions.For(toCompressor)]);
        return (from, to);
    }

    private static async Task BuildTreeAsync(string root, bool from, bool withPackages)
    {
        string At(string path) => Path.Combine(root, path);
        Directory.CreateDirectory(At("etc"));
        Directory.CreateDirectory(At("bin"));
        Directory.CreateDirectory(At("opt"));
        Directory.CreateDirectory(At("dev"));
        await File.WriteAllTextAsync(At("etc/hostname"), from ? "alpha\n" : "bravo\n");
        await File.WriteAllTextAsync(At("etc/motd"), from ? "hello\n" : "hello, world\n");
        await File.WriteAllTextAsync(At("etc/shadow"), "root:*:19000:0:99999:7:::\n");
        File.SetUnixFileMode(At("etc/shadow"), from ? (UnixFileMode)Convert.ToInt32("640", 8) : UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllTextAsync(At("etc/owned"), "owned\n");
        await RunAsync("chown", from ? "0:0" : "1000:1001", At("etc/owned"));
        await File.WriteAllTextAsync(At("etc/only-time"), "the same\n");
        File.SetLastWriteTimeUtc(At("etc/only-time"), from ? new DateTime(2020, 1, 1) : new DateTime(2024, 1, 1));
        await File.WriteAllTextAsync(At("etc/labelled"), "labelled\n");
        if (!from)
        {
            await RunAsync("setfattr", "-n", "user.comment", "-v", "new", At("etc/labelled"));
        }
        File.CreateSymbolicLink(At("bin/sh"), from ? "dash" : "bash");
        File.SetUnixFileMode(At("opt"), from ? (UnixFileMode)Convert.ToInt32("755", 8) : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await RunAsync("mknod", At("dev/console"), "c", "5", from ? "1" : "2");
        // Three and a half blocks, the same in both; another of that size with one byte changed in its third block.
        var big = new byte[3 * BlockSize + BlockSize / 2];
        new Random(3).NextBytes(big);
        await File.WriteAllBytesAsync(At("same-big"), big);
        if (!from)
        {
            big[2 * BlockSize + 5] ^= 0xFF;
        }
        await File.WriteAllBytesAsync(At("big-changed"), big);
        if (from)
        {
            await File.WriteAllTextAsync(At("removed.txt"), "gone\n");
            Directory.CreateDirectory(At("removed-directory"));
            await File.WriteAllTextAsync(At("removed-directory/inner"), "gone too\n");
            await File.WriteAllTextAsync(At("kind"), "a file first\n");
        }
        else
        {
            Directory.CreateDirectory(At("added-directory"));
            await File.WriteAllTextAsync(At("added-directory/file"), "new\n");
            Directory.CreateDirectory(At("kind"));
            await File.WriteAllTextAsync(At("kind/child"), "a directory then\n");
        }
        if (withPackages)
        {
            Directory.CreateDirectory(At("var/lib/dpkg"));
            await File.WriteAllTextAsync(At("var/lib/dpkg/status"), (from ? FromStatus : ToStatus) + "\n");
        }
        // Directories' times change with every entry made in them: left out of a comparison.
        Directory.SetLastWriteTimeUtc(root, from ? new DateTime(2020, 1, 1) : new DateTime(2024, 1, 1));
    }
}
