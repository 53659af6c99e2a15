using System.Security.Cryptography;
using Cray.Ims.Images;
using Cray.Processes;
using Cray.Squashfs;

namespace Cray.Ims.Tests;

/// <summary>Two image roots compared path by path and package by package.</summary>
public sealed class ImageDiffTests : IDisposable
{
    private readonly string workspace = Directory.CreateTempSubdirectory("image-diff-").FullName;

    public void Dispose() => Directory.Delete(workspace, recursive: true);

    [Theory]
    [InlineData("zstd")]
    [InlineData("gzip")]
    public async Task EveryKindOfChangeIsFoundAndNothingElse(string toCompressor)
    {
        var (fromPath, toPath) = await DifferingImages.BuildAsync(workspace, toCompressor);
        using var from = SourceImage.Open(fromPath);
        using var to = SourceImage.Open(toPath);

        var files = ImageFileComparison.Compare(from, to, CancellationToken.None);

        Assert.Equal(["/added-directory", "/added-directory/file", "/kind/child"], files.Added.Select(entry => entry.Path));
        Assert.Equal(new FileEntry("/added-directory/file", "file", "0644", 0, 0, Size: 4), files.Added[1]);
        Assert.Equal("directory", files.Added[0].Type);
        Assert.Null(files.Added[0].Size);
        // /kind is there in both, a file then a directory: a change, with the directory's entries added.
        Assert.Equal(["/removed-directory", "/removed-directory/inner", "/removed.txt"], files.Removed.Select(entry => entry.Path));
        Assert.Equal(new FileEntry("/removed.txt", "file", "0644", 0, 0, Size: 5), files.Removed[2]);

        var changed = files.Changed.ToDictionary(change => change.Path, change => change.Changes);
        Assert.Equal(["/big-changed", "/bin/sh", "/dev/console", "/etc/hostname", "/etc/labelled", "/etc/motd", "/etc/owned", "/etc/shadow", "/kind", "/opt", "/var/lib/dpkg/status"],
            files.Changed.Select(change => change.Path));
        var big = File.ReadAllBytes(Path.Combine(workspace, "from-tree", "big-changed"));
        var bigChanged = File.ReadAllBytes(Path.Combine(workspace, "to-tree", "big-changed"));
        Assert.Equal(new FileChanges { Sha256 = [Hash(big), Hash(bigChanged)] }, changed["/big-changed"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { LinkTarget = ["dash", "bash"] }, changed["/bin/sh"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { Device = ["5:1", "5:2"] }, changed["/dev/console"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { Sha256 = [Hash("alpha\n"u8.ToArray()), Hash("bravo\n"u8.ToArray())] }, changed["/etc/hostname"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { ExtendedAttributes = ["user.comment"] }, changed["/etc/labelled"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { Size = [6, 13] }, changed["/etc/motd"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { Uid = [0, 1000], Gid = [0, 1001] }, changed["/etc/owned"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { Mode = ["0640", "0600"] }, changed["/etc/shadow"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { Type = ["file", "directory"], Mode = ["0644", "0755"] }, changed["/kind"], ChangesComparer.Instance);
        Assert.Equal(new FileChanges { Mode = ["0755", "0700"] }, changed["/opt"], ChangesComparer.Instance);
        Assert.NotNull(changed["/var/lib/dpkg/status"].Size);
    }

    [Fact]
    public async Task AnImageComparedWithItselfHasNoDifferences()
    {
        var (fromPath, _) = await DifferingImages.BuildAsync(workspace);
        using var first = SourceImage.Open(fromPath);
        using var second = SourceImage.Open(fromPath);

        var files = ImageFileComparison.Compare(first, second, CancellationToken.None);
        var (packages, notes) = await new ImagePackages(ProcessRunner.Instance).CompareAsync(first, second, CancellationToken.None);

        Assert.Empty(files.Added);
        Assert.Empty(files.Removed);
        Assert.Empty(files.Changed);
        Assert.Empty(notes);
        Assert.Equal("dpkg", packages?.Manager);
        Assert.Empty(packages!.Added);
        Assert.Empty(packages.Removed);
        Assert.Empty(packages.Upgraded);
        Assert.Empty(packages.Downgraded);
    }

    [Fact]
    public async Task InstalledDebianPackagesAreComparedByNameArchitectureAndVersion()
    {
        var (fromPath, toPath) = await DifferingImages.BuildAsync(workspace);
        using var from = SourceImage.Open(fromPath);
        using var to = SourceImage.Open(toPath);

        var (packages, notes) = await new ImagePackages(ProcessRunner.Instance).CompareAsync(from, to, CancellationToken.None);

        Assert.Empty(notes);
        Assert.NotNull(packages);
        Assert.Equal("dpkg", packages.Manager);
        // config-only was only its configuration files before; libc6:i386 went, libc6:amd64 was upgraded.
        Assert.Equal([new PackageEntry("added-package", "0.9-1", "amd64"), new PackageEntry("config-only", "3.0", "amd64")], packages.Added);
        Assert.Equal([new PackageEntry("libc6", "2.36-9", "i386"), new PackageEntry("removed-package", "1.0", "all")], packages.Removed);
        Assert.Equal([
            new PackageChange("bash", "amd64", "5.2.15-2", "5.2.15-3"),
            new PackageChange("libc6", "amd64", "2.36-9", "2.36-10"),
            new PackageChange("tilde-package", "amd64", "1.0~rc1-1", "1.0-1"),
        ], packages.Upgraded);
        Assert.Equal([
            new PackageChange("downgraded-package", "amd64", "2.0", "1.9"),
            new PackageChange("epoch-package", "amd64", "1:2.0-1", "2.5-1"),
        ], packages.Downgraded);
    }

    [Fact]
    public async Task PackagesAreNotComparedWithoutADatabaseOnBothSides()
    {
        var (bareFrom, bareTo) = await DifferingImages.BuildAsync(Directory.CreateDirectory(Path.Combine(workspace, "bare")).FullName, withPackages: false);
        var (withFrom, _) = await DifferingImages.BuildAsync(Directory.CreateDirectory(Path.Combine(workspace, "with")).FullName);
        var packages = new ImagePackages(ProcessRunner.Instance);
        using var bare = SourceImage.Open(bareFrom);
        using var bareOther = SourceImage.Open(bareTo);
        using var with = SourceImage.Open(withFrom);

        var neither = await packages.CompareAsync(bare, bareOther, CancellationToken.None);
        var onlySecond = await packages.CompareAsync(bare, with, CancellationToken.None);

        Assert.Null(neither.Differences);
        Assert.Equal(["Packages are not compared: neither image has a package database (/var/lib/dpkg/status, or rpm's in /usr/lib/sysimage/rpm or /var/lib/rpm)."], neither.Notes);
        Assert.Null(onlySecond.Differences);
        Assert.Equal(["Packages are not compared: only the second image has a package database (dpkg's)."], onlySecond.Notes);
    }

    [Fact]
    public async Task PathsResolveThroughTheImagesOwnSymbolicLinks()
    {
        var tree = Directory.CreateDirectory(Path.Combine(workspace, "links")).FullName;
        Directory.CreateDirectory(Path.Combine(tree, "usr/lib/sysimage/rpm"));
        await File.WriteAllTextAsync(Path.Combine(tree, "usr/lib/sysimage/rpm/rpmdb.sqlite"), "database");
        Directory.CreateDirectory(Path.Combine(tree, "var/lib"));
        File.CreateSymbolicLink(Path.Combine(tree, "var/lib/rpm"), "../../usr/lib/sysimage/rpm");
        File.CreateSymbolicLink(Path.Combine(tree, "absolute"), "/var/lib/rpm/rpmdb.sqlite");
        File.CreateSymbolicLink(Path.Combine(tree, "loop"), "loop");
        File.CreateSymbolicLink(Path.Combine(tree, "escape"), "../../../../etc/passwd");
        var image = Path.Combine(workspace, "links.squashfs");
        await DifferingImages.RunAsync("mksquashfs", [tree, image, .. SquashfsOptions.For("zstd")]);
        using var opened = SourceImage.Open(image);

        var database = ImagePackages.Resolve(opened.Root, "/var/lib/rpm/rpmdb.sqlite");
        Assert.Same(database, ImagePackages.Resolve(opened.Root, "/absolute"));
        Assert.Equal(8UL, database?.Content?.Size);
        Assert.Null(ImagePackages.Resolve(opened.Root, "/loop"));
        // Above the image's root is its root, as in a chroot: never the host's /etc/passwd.
        Assert.Null(ImagePackages.Resolve(opened.Root, "/escape"));
    }

    [Fact]
    public async Task RpmDatabasesAreReadByRpmWhereverTheImageKeepsThem()
    {
        var packages = new Dictionary<string, string>();
        async Task<string> PackageAsync(string name, string? epoch, string version, string release, string architecture = "noarch")
        {
            var key = $"{name}-{epoch}-{version}-{release}";
            if (!packages.TryGetValue(key, out var built))
            {
                var top = Path.Combine(workspace, "rpmbuild", key);
                var spec = Path.Combine(workspace, key + ".spec");
                await File.WriteAllTextAsync(spec, $"""
                    Name: {name}
                    {(epoch is null ? "" : "Epoch: " + epoch)}
                    Version: {version}
                    Release: {release}
                    Summary: {name}
                    License: MIT
                    BuildArch: {architecture}
                    %description
                    A package with no files.
                    %files
                    """);
                await DifferingImages.RunAsync("rpmbuild", "--quiet", "-bb", "--define", $"_topdir {top}", spec);
                built = Directory.GetFiles(top, "*.rpm", SearchOption.AllDirectories).Single();
                packages[key] = built;
            }
            return built;
        }
        async Task<string> ImageAsync(string name, string databaseDirectory, params string[] installed)
        {
            var tree = Path.Combine(workspace, name);
            var database = Directory.CreateDirectory(Path.Combine(tree, databaseDirectory)).FullName;
            await DifferingImages.RunAsync("rpm", "--initdb", "--dbpath", database);
            await DifferingImages.RunAsync("rpm", ["--install", "--justdb", "--nodeps", "--dbpath", database, .. installed]);
            var image = Path.Combine(workspace, name + ".squashfs");
            await DifferingImages.RunAsync("mksquashfs", [tree, image, .. SquashfsOptions.For("zstd")]);
            return image;
        }
        // The older place in the first image; the newer, with the older linked to it as SUSE does, in the second.
        var fromPath = await ImageAsync("rpm-from", "var/lib/rpm",
            await PackageAsync("upgraded", null, "1.0", "1"),
            await PackageAsync("epoch", "1", "1.0", "1"),
            await PackageAsync("kernel", null, "5.14.21", "150500.55.39.1"),
            await PackageAsync("kernel", null, "5.14.21", "150500.55.44.1"),
            await PackageAsync("removed", null, "2.0", "3"));
        Directory.CreateDirectory(Path.Combine(workspace, "rpm-to", "var", "lib"));
        File.CreateSymbolicLink(Path.Combine(workspace, "rpm-to", "var", "lib", "rpm"), "../../usr/lib/sysimage/rpm");
        var toPath = await ImageAsync("rpm-to", "usr/lib/sysimage/rpm",
            await PackageAsync("upgraded", null, "1.0", "1.1"),
            await PackageAsync("epoch", null, "2.0", "1"),
            await PackageAsync("kernel", null, "5.14.21", "150500.55.44.1"),
            await PackageAsync("kernel", null, "5.14.21", "150500.55.49.1"),
            await PackageAsync("added", null, "0.1", "1"));
        using var from = SourceImage.Open(fromPath);
        using var to = SourceImage.Open(toPath);
        var (differences, notes) = await new ImagePackages(ProcessRunner.Instance).CompareAsync(from, to, CancellationToken.None);

        Assert.Empty(notes);
        Assert.NotNull(differences);
        Assert.Equal("rpm", differences.Manager);
        // Kernels are kept side by side: each version only one image has is added or removed.
        Assert.Equal([new PackageEntry("added", "0.1-1", "noarch"), new PackageEntry("kernel", "5.14.21-150500.55.49.1", "noarch")], differences.Added);
        Assert.Equal([new PackageEntry("kernel", "5.14.21-150500.55.39.1", "noarch"), new PackageEntry("removed", "2.0-3", "noarch")], differences.Removed);
        Assert.Equal([new PackageChange("upgraded", "noarch", "1.0-1", "1.0-1.1")], differences.Upgraded);
        Assert.Equal([new PackageChange("epoch", "noarch", "1:1.0-1", "2.0-1")], differences.Downgraded);
        Assert.Empty(Directory.GetDirectories(Path.GetTempPath(), "cray-rpmdb-*"));
    }

    /// <summary>rpm parses an image's database, untrusted bytes: its sandbox reaches no root-only file, host process or network, and writes only its copy.</summary>
    [Fact]
    public async Task RpmsSandboxReachesNoSecretProcessOrNetworkOfTheHost()
    {
        var copy = Directory.CreateTempSubdirectory("cray-rpmdb-test-").FullName;
        try
        {
            await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("chown", ["65534:65534", copy]));
            async Task<ProcessResult> RunAsync(params string[] command)
                => await ProcessRunner.Instance.RunAsync(new ProcessRequest("setpriv", ImagePackages.Sandboxed(copy, command)) { Timeout = TimeSpan.FromMinutes(1) });

            var written = await RunAsync("touch", "/rpmdb/written");
            Assert.True(written.Succeeded, written.Output);
            Assert.True(File.Exists(Path.Combine(copy, "written")));
            Assert.False((await RunAsync("cat", "/etc/shadow")).Succeeded);
            Assert.False((await RunAsync("ls", "/root")).Succeeded);
            Assert.False((await RunAsync("touch", "/usr/written-by-rpm")).Succeeded);
            Assert.False((await RunAsync("touch", "/etc/written-by-rpm")).Succeeded);
            // Its own PID namespace: the host's processes are not there.
            var processes = await RunAsync("ls", "/proc");
            Assert.DoesNotContain(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), processes.Output.Split('\n'));
            // Its own network namespace: nothing but a loopback that is down.
            var interfaces = await RunAsync("cat", "/proc/net/dev");
            Assert.Equal(["lo"], interfaces.Output.Split('\n').Skip(2).Where(line => line.Contains(':')).Select(line => line.Split(':')[0].Trim()));
            Assert.Equal("65534", (await RunAsync("id", "-u")).Output.Trim());
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Records holding lists compare their lists by reference; this compares them by content.</summary>
    private sealed class ChangesComparer : IEqualityComparer<FileChanges>
    {
        public static readonly ChangesComparer Instance = new();

        public bool Equals(FileChanges? x, FileChanges? y)
            => System.Text.Json.JsonSerializer.Serialize(x) == System.Text.Json.JsonSerializer.Serialize(y);

        public int GetHashCode(FileChanges obj) => 0;
    }
}
