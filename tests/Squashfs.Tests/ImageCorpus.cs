using System.Security.Cryptography;
using Cray.Processes;

namespace Cray.Squashfs.Tests;

/// <summary>
/// Trees that exercise every part of the format, packed with mksquashfs as the product packs, and
/// the programs the tests compare images with (unsquashfs, sqfsdiff, the kernel's own mount).
/// </summary>
internal static partial class ImageCorpus
{
    public const int BlockSize = 128 * 1024;

    public static async Task<string> RunAsync(string program, params string[] arguments)
    {
        var lines = new List<string>();
        var result = await ProcessRunner.Instance.RunAsync(new ProcessRequest(program, arguments) { OutputLine = lines.Add, Timeout = TimeSpan.FromMinutes(5) });
        Assert.True(result.Succeeded, $"{program} {string.Join(' ', arguments)}: {result.Output}");
        return string.Join('\n', lines);
    }

    /// <summary>
    /// Unmounts; when the mount is busy for a moment (another test assembly making a mount namespace
    /// copies it, and the unmount propagates there), detaches it lazily instead of failing.
    /// </summary>
    public static async Task UnmountAsync(string mountPoint)
    {
        var result = await ProcessRunner.Instance.RunAsync(new ProcessRequest("umount", [mountPoint]) { Timeout = TimeSpan.FromMinutes(1) });
        if (!result.Succeeded)
        {
            await RunAsync("umount", "--lazy", mountPoint);
        }
    }

    /// <summary>Packs a directory as the IMS worker does (zstd level 3, exportable, duplicates found).</summary>
    public static Task PackAsync(string directory, string image, params string[] extra)
        => RunAsync("mksquashfs", [directory, image, "-noappend", "-no-progress", "-quiet", "-comp", "zstd", "-Xcompression-level", "3", .. extra]);

    public static void WriteText(string path, int bytes, int seed = 1)
    {
        var random = new Random(seed);
        var words = new[] { "alpha ", "beta ", "gamma ", "delta\n", "compute ", "node " };
        using var writer = new StreamWriter(path);
        var written = 0;
        while (written < bytes)
        {
            var word = words[random.Next(words.Length)];
            var take = Math.Min(word.Length, bytes - written);
            writer.Write(word.AsSpan(0, take));
            written += take;
        }
    }

    public static void WriteRandom(string path, int bytes, int seed) => File.WriteAllBytes(path, RandomBytes(bytes, seed));

    private static byte[] RandomBytes(int bytes, int seed)
    {
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>A tree with files of 0, 1 and many blocks, sparse and incompressible blocks, duplicates, hard links, symbolic links, devices, a FIFO, extended attributes and capabilities, owners beyond 16 bits and a directory of 300 entries.</summary>
    public static async Task BuildAsync(string root)
    {
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "empty"), []);
        WriteText(Path.Combine(root, "small.txt"), 100);
        WriteText(Path.Combine(root, "one-block"), BlockSize, seed: 2);
        WriteText(Path.Combine(root, "two-blocks-exactly"), 2 * BlockSize, seed: 3);
        WriteText(Path.Combine(root, "three-and-a-half"), 3 * BlockSize + BlockSize / 2, seed: 4);
        WriteRandom(Path.Combine(root, "incompressible.bin"), BlockSize + 4000, seed: 5);
        using (var sparse = new FileStream(Path.Combine(root, "sparse"), FileMode.Create))
        {
            sparse.Write(RandomBytes(BlockSize, 6));
            sparse.Seek(BlockSize, SeekOrigin.Current);
            sparse.Write(RandomBytes(100, 7));
        }
        File.WriteAllBytes(Path.Combine(root, "zeros"), new byte[2 * BlockSize]);
        WriteText(Path.Combine(root, "duplicate-a"), BlockSize + BlockSize / 2, seed: 8);
        File.Copy(Path.Combine(root, "duplicate-a"), Path.Combine(root, "duplicate-b"));
        WriteText(Path.Combine(root, "small-duplicate-a"), 3000, seed: 9);
        File.Copy(Path.Combine(root, "small-duplicate-a"), Path.Combine(root, "small-duplicate-b"));
        WriteText(Path.Combine(root, "linked-1"), BlockSize * 2 + 17, seed: 10);
        await RunAsync("ln", Path.Combine(root, "linked-1"), Path.Combine(root, "linked-2"));
        WriteText(Path.Combine(root, "small-linked-1"), 500, seed: 11);
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        await RunAsync("ln", Path.Combine(root, "small-linked-1"), Path.Combine(root, "etc", "small-linked-2"));
        File.CreateSymbolicLink(Path.Combine(root, "link-to-small"), "small.txt");
        File.CreateSymbolicLink(Path.Combine(root, "dangling"), "/no/such/target");
        File.CreateSymbolicLink(Path.Combine(root, "long-link"), string.Concat(Enumerable.Repeat("directory-name/", 20)) + "file");
        var many = Directory.CreateDirectory(Path.Combine(root, "usr", "share", "many")).FullName;
        for (var i = 0; i < 300; i++)
        {
            File.WriteAllText(Path.Combine(many, $"entry-with-a-rather-long-name-{i:D4}.conf"), $"value {i % 7}\n");
        }
        Directory.CreateDirectory(Path.Combine(root, "empty-directory"));
        var devices = Directory.CreateDirectory(Path.Combine(root, "dev")).FullName;
        await RunAsync("mknod", Path.Combine(devices, "null"), "c", "1", "3");
        await RunAsync("mknod", Path.Combine(devices, "loop-high"), "b", "259", "300");
        await RunAsync("mkfifo", Path.Combine(devices, "pipe"));
        WriteText(Path.Combine(root, "ping"), 2000, seed: 12);
        await RunAsync("setcap", "cap_net_raw+ep", Path.Combine(root, "ping"));
        await RunAsync("setfattr", "-n", "user.comment", "-v", "kept", Path.Combine(root, "small.txt"));
        await RunAsync("setfattr", "-n", "user.directory", "-v", "0x00ff10", Path.Combine(root, "etc"));
        WriteText(Path.Combine(root, "setuid"), 300, seed: 13);
        File.SetUnixFileMode(Path.Combine(root, "setuid"), (UnixFileMode)Convert.ToInt32("4755", 8));
        Directory.CreateDirectory(Path.Combine(root, "tmp"));
        File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)Convert.ToInt32("1777", 8));
        await RunAsync("chown", "1234:5678", Path.Combine(root, "small.txt"));
        await RunAsync("chown", "-h", "70000:70001", Path.Combine(root, "link-to-small"));
        await RunAsync("touch", "-h", "-d", "2021-02-03 04:05:06", Path.Combine(root, "long-link"));
        await RunAsync("touch", "-d", "2020-01-01 00:00:00", Path.Combine(root, "one-block"));
    }

    /// <summary>
    /// What unsquashfs lists: mode, owner, size or device, time and path of every entry, in its
    /// order. A directory's size is left out: it counts the listing's headers, which depend on
    /// where inodes fall in metadata blocks, not on what the directory holds.
    /// </summary>
    public static async Task<string> ListingAsync(string image)
        => string.Join('\n', (await RunAsync("unsquashfs", "-lln", "-d", "/root-of-listing", image)).Split('\n')
            .Where(line => line.Contains("/root-of-listing", StringComparison.Ordinal))
            .Select(line => line.StartsWith('d') ? DirectorySize().Replace(line, "$1 ") : line));

    [System.Text.RegularExpressions.GeneratedRegex(@"^(d\S+ \S+)\s+\d+ ")]
    private static partial System.Text.RegularExpressions.Regex DirectorySize();

    public static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>The Debian root the job tests use (test.sh builds it once; scripts/base-image.sh does the same here).</summary>
    public static async Task<string> BaseImageAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("CRAY_TEST_BASE_IMAGE");
        if (!string.IsNullOrEmpty(fromEnvironment) && File.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }
        var repository = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repository, "Cray.slnx")))
        {
            repository = Path.GetDirectoryName(repository) ?? throw new InvalidOperationException("the tests run outside the repository");
        }
        return (await RunAsync(Path.Combine(repository, "scripts", "base-image.sh"))).Trim().Split('\n')[^1];
    }
}
