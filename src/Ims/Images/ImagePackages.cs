using System.Text;
using Cray.Processes;
using Cray.Squashfs;

namespace Cray.Ims.Images;

/// <summary>One installed package, its version as its manager writes it (rpm's as [epoch:]version-release).</summary>
public sealed record InstalledPackage(string Name, string Architecture, string Version);

/// <summary>
/// The installed packages of two image roots and what changed between them: dpkg's status file
/// (read here), or an rpm database (read by the host's rpm program from a copy of the database's
/// files, since its formats (sqlite, ndb, Berkeley DB) are rpm's own business).
/// </summary>
public sealed class ImagePackages(IProcessRunner runner)
{
    public const string DpkgStatusPath = "/var/lib/dpkg/status";

    /// <summary>Where rpm keeps its database: the newer place first (SUSE and Fedora link the older to it).</summary>
    public static readonly string[] RpmDatabaseDirectories = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"];

    private static readonly string[] RpmDatabaseFiles = ["rpmdb.sqlite", "Packages.db", "Packages"];

    /// <summary>A status file or rpm database larger than this is not read: no real one comes near it.</summary>
    public const long MaximumDatabaseBytes = 1L << 30;

    private const string RpmLineMarker = "PACKAGE\t";

    private enum Manager
    {
        Dpkg,
        Rpm,
    }

    public async Task<(PackageDifferences? Differences, IReadOnlyList<string> Notes)> CompareAsync(SourceImage from, SourceImage to, CancellationToken cancellationToken)
    {
        var fromDatabase = Find(from);
        var toDatabase = Find(to);
        if (fromDatabase is null && toDatabase is null)
        {
            return (null, [$"Packages are not compared: neither image has a package database ({DpkgStatusPath}, or rpm's in {string.Join(" or ", RpmDatabaseDirectories)})."]);
        }
        if (fromDatabase is null || toDatabase is null)
        {
            var (side, database) = fromDatabase is null ? ("second", toDatabase!.Value) : ("first", fromDatabase.Value);
            return (null, [$"Packages are not compared: only the {side} image has a package database ({Describe(database.Manager)})."]);
        }
        if (fromDatabase.Value.Manager != toDatabase.Value.Manager)
        {
            return (null, [$"Packages are not compared: the first image's are {Describe(fromDatabase.Value.Manager)}, the second's {Describe(toDatabase.Value.Manager)}."]);
        }
        try
        {
            if (fromDatabase.Value.Manager == Manager.Dpkg)
            {
                return (Differences("dpkg", ReadDpkgStatus(from, fromDatabase.Value.Inode), ReadDpkgStatus(to, toDatabase.Value.Inode), DebianVersion.Compare), []);
            }
            if (!ProgramSearch.IsAvailable("rpm"))
            {
                return (null, ["Packages are not compared: both images have an rpm database, but rpm is not installed on the server (Debian package rpm)."]);
            }
            return (Differences("rpm", await QueryRpmAsync(from, fromDatabase.Value.Inode, cancellationToken), await QueryRpmAsync(to, toDatabase.Value.Inode, cancellationToken),
                RpmVersion.CompareWritten), []);
        }
        catch (Exception exception) when (exception is UnreadableDatabaseException or ProcessFailedException)
        {
            return (null, [$"Packages are not compared: {exception.Message}"]);
        }
    }

    /// <summary>A package database this comparison does not read; the files are still compared.</summary>
    private sealed class UnreadableDatabaseException(string message) : Exception(message);

    private static string Describe(Manager manager) => manager == Manager.Dpkg ? "dpkg's" : "rpm's";

    private static (Manager Manager, Inode Inode)? Find(SourceImage image)
    {
        if (Resolve(image.Root, DpkgStatusPath) is { Kind: EntryKind.File } status)
        {
            return (Manager.Dpkg, status);
        }
        foreach (var directory in RpmDatabaseDirectories)
        {
            if (Resolve(image.Root, directory) is { Kind: EntryKind.Directory } database
                && RpmDatabaseFiles.Any(name => database.Children.TryGetValue(name, out var file) && file.Kind == EntryKind.File))
            {
                return (Manager.Rpm, database);
            }
        }
        return null;
    }

    /// <summary>
    /// The inode at an absolute path of the image, following symbolic links as the image would (an
    /// absolute target starts again at the image's root, never the host's), at most 40 of them as the kernel does.
    /// </summary>
    public static Inode? Resolve(Inode root, string path)
    {
        var parents = new List<Inode> { root };
        var remaining = new Queue<string>(Inode.NameFromHost(path).Split('/'));
        var links = 0;
        while (remaining.TryDequeue(out var name))
        {
            if (name is "" or ".")
            {
                continue;
            }
            if (name == "..")
            {
                if (parents.Count > 1)
                {
                    parents.RemoveAt(parents.Count - 1);
                }
                continue;
            }
            if (parents[^1].Kind != EntryKind.Directory || !parents[^1].Children.TryGetValue(name, out var child))
            {
                return null;
            }
            if (child.Kind != EntryKind.Symlink)
            {
                parents.Add(child);
                continue;
            }
            if (++links > 40)
            {
                return null;
            }
            var target = Inode.NameFromBytes(child.SymlinkTarget);
            if (target.StartsWith('/'))
            {
                parents.RemoveRange(1, parents.Count - 1);
            }
            remaining = new Queue<string>(target.Split('/').Concat(remaining));
        }
        return parents[^1];
    }

    /// <summary>dpkg's installed packages: stanzas whose Status says installed (whatever is wanted of them: held or marked for removal, they are still there).</summary>
    private static List<InstalledPackage> ReadDpkgStatus(SourceImage image, Inode status)
    {
        var content = (SourceFileContent)status.Content!;
        if (content.Size > MaximumDatabaseBytes)
        {
            throw new UnreadableDatabaseException($"{DpkgStatusPath} is {content.Size} bytes long, more than a status file ever is.");
        }
        using var reader = new StreamReader(new FileDataReader(image).Open(content), Encoding.UTF8);
        var packages = new List<InstalledPackage>();
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        void EndStanza()
        {
            if (fields.TryGetValue("Package", out var name) && fields.TryGetValue("Version", out var version)
                && fields.TryGetValue("Status", out var state) && state.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, _, "installed"])
            {
                packages.Add(new InstalledPackage(name, fields.GetValueOrDefault("Architecture", ""), version));
            }
            fields.Clear();
        }
        while (reader.ReadLine() is { } line)
        {
            if (line.Trim().Length == 0)
            {
                EndStanza();
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && !char.IsWhiteSpace(line[0]))
            {
                fields[line[..colon]] = line[(colon + 1)..].Trim();
            }
        }
        EndStanza();
        return packages;
    }

    private const string SandboxUser = "65534";
    private const string SandboxDatabase = "/rpmdb";

    /// <summary>
    /// setpriv's arguments that run <paramref name="command"/> as nobody under bubblewrap: its own
    /// user, PID, network, IPC and UTS namespaces, no capabilities, the host's /usr and /etc read-only,
    /// a private /tmp, and <paramref name="databaseCopy"/> (owned by nobody) at /rpmdb.
    /// </summary>
    public static IReadOnlyList<string> Sandboxed(string databaseCopy, IReadOnlyList<string> command) =>
    [
        $"--reuid={SandboxUser}", $"--regid={SandboxUser}", "--clear-groups", "--inh-caps=-all", "--",
        "bwrap", "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
        "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        "--bind", databaseCopy, SandboxDatabase, "--chdir", "/",
        .. command,
    ];

    /// <summary>Copies the database's files out of the image and asks rpm what they hold.</summary>
    private async Task<List<InstalledPackage>> QueryRpmAsync(SourceImage image, Inode database, CancellationToken cancellationToken)
    {
        // Under the system's temporary directory, which the sandbox's user can reach (the server's data directory is root's only).
        var copy = Directory.CreateTempSubdirectory("cray-rpmdb-").FullName;
        try
        {
            var reader = new FileDataReader(image);
            long total = 0;
            foreach (var (name, file) in database.Children.Where(child => child.Value.Kind == EntryKind.File))
            {
                var content = (SourceFileContent)file.Content!;
                total += (long)content.Size;
                if (total > MaximumDatabaseBytes)
                {
                    throw new UnreadableDatabaseException($"the rpm database's files hold more than {MaximumDatabaseBytes} bytes.");
                }
                // Names are the image's bytes; one that is not a plain file name is not part of a database rpm reads.
                var hostName = Encoding.UTF8.GetString(Inode.NameBytes(name));
                if (hostName != Path.GetFileName(hostName) || hostName.Contains('\uFFFD'))
                {
                    continue;
                }
                await using var source = reader.Open(content);
                await using var target = new FileStream(Path.Combine(copy, hostName), FileMode.CreateNew, FileAccess.Write);
                await source.CopyToAsync(target, cancellationToken);
            }
            var lines = new List<string>();
            // The database is the image's, so rpm parses untrusted bytes: it runs as nobody, in namespaces
            // of its own (no network, no host processes), seeing the host's /usr and /etc read-only and the copy.
            await runner.RunCheckedAsync(new ProcessRequest("chown", ["-R", "--no-dereference", $"{SandboxUser}:{SandboxUser}", "--", copy])
            {
                Timeout = TimeSpan.FromMinutes(1),
            }, cancellationToken);
            var result = await runner.RunAsync(new ProcessRequest("setpriv", Sandboxed(copy,
                ["rpm", "--dbpath", SandboxDatabase, "--query", "--all", "--queryformat", RpmLineMarker + "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n"]))
            {
                OutputLine = line =>
                {
                    if (line.StartsWith(RpmLineMarker, StringComparison.Ordinal))
                    {
                        lines.Add(line[RpmLineMarker.Length..]);
                    }
                },
                Timeout = TimeSpan.FromMinutes(5),
            }, cancellationToken);
            if (!result.Succeeded)
            {
                throw new UnreadableDatabaseException($"rpm could not read an image's rpm database: {result.Output.Trim()}");
            }
            return lines.Select(line => line.Split('\t')).Where(parts => parts.Length == 5).Select(parts => new InstalledPackage(
                parts[0], parts[4] == "(none)" ? "" : parts[4], (parts[1] == "(none)" ? "" : parts[1] + ":") + parts[2] + "-" + parts[3])).ToList();
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    /// <summary>
    /// Packages matched by name, and by architecture too where an image has a name in several (multiarch,
    /// multilib). A name with one version on each side is upgraded or downgraded; with several on either
    /// side (kernels kept side by side, rpm's gpg-pubkey) each version only one side has is added or removed.
    /// </summary>
    public static PackageDifferences Differences(string manager, IReadOnlyList<InstalledPackage> from, IReadOnlyList<InstalledPackage> to, Comparison<string> compareVersions)
    {
        var added = new List<PackageEntry>();
        var removed = new List<PackageEntry>();
        var upgraded = new List<PackageChange>();
        var downgraded = new List<PackageChange>();
        var fromByName = from.ToLookup(package => package.Name, StringComparer.Ordinal);
        var toByName = to.ToLookup(package => package.Name, StringComparer.Ordinal);
        foreach (var name in fromByName.Select(group => group.Key).Union(toByName.Select(group => group.Key), StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var before = fromByName[name].ToList();
            var after = toByName[name].ToList();
            var byArchitecture = before.Select(package => package.Architecture).Distinct().Count() > 1 || after.Select(package => package.Architecture).Distinct().Count() > 1;
            var groups = byArchitecture
                ? before.Select(package => package.Architecture).Union(after.Select(package => package.Architecture)).Order(StringComparer.Ordinal)
                    .Select(architecture => (Before: before.Where(package => package.Architecture == architecture).ToList(), After: after.Where(package => package.Architecture == architecture).ToList()))
                : [(before, after)];
            foreach (var (beforeGroup, afterGroup) in groups)
            {
                if (beforeGroup is [var old] && afterGroup is [var current])
                {
                    var order = compareVersions(current.Version, old.Version);
                    if (order != 0)
                    {
                        (order > 0 ? upgraded : downgraded).Add(new PackageChange(name, current.Architecture, old.Version, current.Version));
                    }
                    continue;
                }
                removed.AddRange(beforeGroup.Where(package => !afterGroup.Any(other => other.Version == package.Version && other.Architecture == package.Architecture))
                    .Select(Entry));
                added.AddRange(afterGroup.Where(package => !beforeGroup.Any(other => other.Version == package.Version && other.Architecture == package.Architecture))
                    .Select(Entry));
            }
        }
        return new PackageDifferences(manager, added, removed, upgraded, downgraded);
    }

    private static PackageEntry Entry(InstalledPackage package) => new(package.Name, package.Version, package.Architecture);
}
