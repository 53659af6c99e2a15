using System.Buffers.Binary;

namespace Cray.Squashfs;

/// <summary>
/// Lays an overlay's upper directory over the tree of its lower image, as overlayfs shows the
/// merged view: whiteouts (0/0 character devices, or empty files marked
/// <c>trusted.overlay.whiteout</c>) delete, opaque directories hide what was below, directories
/// merge and take the upper's owner, mode, time and attributes, anything else replaces the lower
/// entry. With the overlay's index, a copied-up file stands for every lower name of its inode (its
/// <c>trusted.overlay.origin</c> names that inode), as the merged view shows it. Features that
/// make the upper directory mean something else (redirects, metacopy, extended-attribute
/// whiteouts) are refused, and the caller packs the merged view with mksquashfs instead.
/// </summary>
public sealed class OverlayUpper
{
    private const string OverlayPrefix = "trusted.overlay.";
    private const ulong MaximumFileBytes = 1UL << 40;
    private static readonly HashSet<string> UnderstoodOverlayAttributes = new(StringComparer.Ordinal)
    {
        "trusted.overlay.opaque", "trusted.overlay.whiteout", "trusted.overlay.origin", "trusted.overlay.impure",
        "trusted.overlay.nlink", "trusted.overlay.uuid",
    };

    private readonly SourceImage lower;
    private readonly bool indexed;
    private readonly Dictionary<(ulong Device, ulong Inode), Inode> upperLinks = [];
    private readonly Dictionary<uint, (ulong Device, ulong Inode)> copiedUpByOrigin = [];

    private OverlayUpper(SourceImage lower, bool indexed)
    {
        this.lower = lower;
        this.indexed = indexed;
    }

    /// <summary>How many upper entries were laid over the lower tree.</summary>
    public int ChangedEntries { get; private set; }

    /// <summary>Applies <paramref name="upperDirectory"/> to <paramref name="lower"/>'s tree, in place.</summary>
    /// <param name="indexDirectory">
    /// The overlay's <c>workdir/index</c> when it ran with <c>index=on</c> (copied-up hard links
    /// stay whole), or null. Every entry there must be an upper file reached by a name whose origin
    /// the packer resolved: the kernel also serves lower names through the index alone (after the
    /// copied-up name was removed or replaced), which the upper directory does not show.
    /// </param>
    public static OverlayUpper Apply(SourceImage lower, string upperDirectory, string? indexDirectory)
    {
        var overlay = new OverlayUpper(lower, indexDirectory is not null);
        overlay.ApplyDirectory(lower.Root, upperDirectory);
        if (indexDirectory is not null && Directory.Exists(indexDirectory))
        {
            var reached = overlay.copiedUpByOrigin.Values.ToHashSet();
            foreach (var entry in Directory.EnumerateFileSystemEntries(indexDirectory, "*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                var status = LinuxFiles.Status(entry);
                if (reached.Contains((status.Device, status.InodeNumber))
                    || (status.Type == FileStatus.CharacterDevice && status.DeviceMajor == 0 && status.DeviceMinor == 0))
                {
                    // Reached through an upper name, or a whiteout index: every lower name of that inode is gone.
                    continue;
                }
                overlay.ApplyIndexOnly(entry, status);
            }
        }
        return overlay;
    }

    /// <summary>
    /// An index entry no upper name reaches (an alias was unlinked or replaced after the copy-up):
    /// the kernel serves the remaining lower names of its origin with it, so they take its content
    /// and metadata.
    /// </summary>
    private void ApplyIndexOnly(string entry, FileStatus status)
    {
        var attributes = LinuxFiles.ExtendedAttributes(entry);
        if (status.Type != FileStatus.Regular || OverlayValue(attributes, "origin") is not { } origin || OriginInodeNumber(origin) is not { } number
            || lower.InodeNumbered(number) is not { Kind: EntryKind.File } aliases || copiedUpByOrigin.ContainsKey(number))
        {
            throw new SquashfsFormatException($"the overlay's index entry {Path.GetFileName(entry)} serves lower names the packer cannot tell");
        }
        copiedUpByOrigin[number] = (status.Device, status.InodeNumber);
        SetMetadata(aliases, status, attributes, entry);
        aliases.Content = new HostFileContent(status.Size, entry, status.Device, status.InodeNumber);
    }

    private void ApplyDirectory(Inode directory, string upperPath)
    {
        var status = LinuxFiles.Status(upperPath);
        var attributes = LinuxFiles.ExtendedAttributes(upperPath);
        SetMetadata(directory, status, attributes, upperPath);
        if (OverlayValue(attributes, "opaque") is { } opaque)
        {
            if (opaque is not [(byte)'y'])
            {
                throw new SquashfsFormatException($"{upperPath} is an overlay directory of kind '{System.Text.Encoding.ASCII.GetString(opaque)}' (extended-attribute whiteouts), which the packer does not read");
            }
            directory.Children.Clear();
        }
        foreach (var path in Directory.EnumerateFileSystemEntries(upperPath, "*", new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false }))
        {
            ChangedEntries++;
            if (Path.GetFileName(path).Contains('\uFFFD', StringComparison.Ordinal))
            {
                // .NET reads names as UTF-8: one that is not cannot be opened again by the name it gives.
                throw new SquashfsFormatException($"{upperPath} holds a name that is not UTF-8");
            }
            var name = Inode.NameFromHost(Path.GetFileName(path));
            var entry = LinuxFiles.Status(path);
            if (entry.Type == FileStatus.CharacterDevice && entry.DeviceMajor == 0 && entry.DeviceMinor == 0)
            {
                directory.Children.Remove(name);
                continue;
            }
            var entryAttributes = LinuxFiles.ExtendedAttributes(path);
            if (entry.Type == FileStatus.Regular && entry.Size == 0 && OverlayValue(entryAttributes, "whiteout") is not null)
            {
                directory.Children.Remove(name);
                continue;
            }
            if (entry.Type == FileStatus.Directory)
            {
                if (directory.Children.TryGetValue(name, out var existing) && existing.Kind == EntryKind.Directory)
                {
                    ApplyDirectory(existing, path);
                }
                else
                {
                    var created = new Inode(EntryKind.Directory);
                    ApplyDirectory(created, path);
                    directory.Children[name] = created;
                }
                continue;
            }
            directory.Children[name] = NonDirectory(path, entry, entryAttributes);
        }
    }

    private Inode NonDirectory(string path, FileStatus status, List<ExtendedAttributePair> attributes)
    {
        var key = (status.Device, status.InodeNumber);
        if (status.Links > 1 && upperLinks.TryGetValue(key, out var linked))
        {
            return linked;
        }
        Inode? inode = null;
        if (indexed && status.Type == FileStatus.Regular && OverlayValue(attributes, "origin") is { } origin && OriginInodeNumber(origin) is { } number
            && lower.InodeNumbered(number) is { Kind: EntryKind.File } copiedUp)
        {
            // The index keeps a copied-up hard link whole: every lower name of this inode now shows the upper file.
            if (copiedUpByOrigin.TryGetValue(number, out var earlier) && earlier != key)
            {
                throw new SquashfsFormatException($"{path} and another upper file were both copied up from lower inode {number}");
            }
            copiedUpByOrigin[number] = key;
            inode = copiedUp;
        }
        inode ??= new Inode(status.Type switch
        {
            FileStatus.Regular => EntryKind.File,
            FileStatus.Symlink => EntryKind.Symlink,
            FileStatus.BlockDevice => EntryKind.BlockDevice,
            FileStatus.CharacterDevice => EntryKind.CharacterDevice,
            FileStatus.Fifo => EntryKind.Fifo,
            FileStatus.Socket => EntryKind.Socket,
            _ => throw new SquashfsFormatException($"{path} is of a file type ({status.Type:x}) squashfs does not store"),
        });
        SetMetadata(inode, status, attributes, path);
        inode.Content = null;
        inode.SymlinkTarget = [];
        inode.DeviceNumber = 0;
        switch (inode.Kind)
        {
            case EntryKind.File:
                if (status.Size > MaximumFileBytes)
                {
                    // A sparse file of terabytes costs nothing to make and hours to read.
                    throw new SquashfsFormatException($"{path} is {status.Size} bytes long, more than the packer reads ({MaximumFileBytes >> 40} TiB)");
                }
                inode.Content = new HostFileContent(status.Size, path, status.Device, status.InodeNumber);
                break;
            case EntryKind.Symlink:
                inode.SymlinkTarget = LinuxFiles.LinkTarget(path);
                break;
            case EntryKind.BlockDevice or EntryKind.CharacterDevice:
                inode.DeviceNumber = status.SquashfsDeviceNumber;
                break;
        }
        if (status.Links > 1)
        {
            upperLinks[key] = inode;
        }
        return inode;
    }

    private static void SetMetadata(Inode inode, FileStatus status, List<ExtendedAttributePair> attributes, string path)
    {
        foreach (var attribute in attributes)
        {
            if (attribute.Name.StartsWith(OverlayPrefix, StringComparison.Ordinal) && !UnderstoodOverlayAttributes.Contains(attribute.Name))
            {
                throw new SquashfsFormatException($"{path} carries {attribute.Name} (an overlay feature such as redirect_dir or metacopy), which the packer does not read");
            }
            if (attribute.Name.Any(character => character > 127))
            {
                throw new SquashfsFormatException($"{path} has an extended attribute whose name is not ASCII");
            }
        }
        inode.Permissions = (ushort)(status.Mode & 0xFFF);
        inode.Uid = status.Uid;
        inode.Gid = status.Gid;
        inode.ModifiedTime = (uint)Math.Clamp(status.ModifiedSeconds, 0, uint.MaxValue);
        inode.ExtendedAttributes = [.. attributes.Where(attribute => !attribute.Name.StartsWith(OverlayPrefix, StringComparison.Ordinal))];
    }

    private static byte[]? OverlayValue(List<ExtendedAttributePair> attributes, string name)
        => attributes.FirstOrDefault(attribute => attribute.Name == OverlayPrefix + name)?.Value;

    /// <summary>
    /// The lower inode number in an origin file handle: overlayfs's <c>ovl_fb</c> header (version,
    /// magic 0xfb, length, flags, type, a 16-byte uuid) and then the lower file system's file id,
    /// which for squashfs is the inode number and its generation.
    /// </summary>
    private static uint? OriginInodeNumber(byte[] origin)
        => origin.Length >= 25 && origin[1] == 0xFB ? BinaryPrimitives.ReadUInt32LittleEndian(origin.AsSpan(21)) : null;
}
