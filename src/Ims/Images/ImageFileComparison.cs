using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cray.Squashfs;

namespace Cray.Ims.Images;

/// <summary>
/// Compares two squashfs root file systems path by path: the paths only one has, and for the paths
/// both have, type, mode, owner, extended attributes, and by type the size and content, link target
/// or device. A directory's own size and every time stamp are left out: a repack or a customize job
/// changes them without changing what the image holds. Content is compared exactly, a block at a
/// time and only as far as the first difference (<see cref="FileDataReader.SameBytes"/>); only files
/// that differ are read whole, for their checksums.
/// </summary>
public sealed class ImageFileComparison
{
    private readonly FileDataReader fromReader;
    private readonly FileDataReader toReader;
    private readonly CancellationToken cancellationToken;
    private readonly byte[] hashBuffer = new byte[1 << 17];
    private readonly List<(string Key, FileEntry Entry)> added = [];
    private readonly List<(string Key, FileEntry Entry)> removed = [];
    private readonly List<(string Key, ChangedFile Change)> changed = [];

    private ImageFileComparison(SourceImage from, SourceImage to, CancellationToken cancellationToken)
    {
        fromReader = new FileDataReader(from);
        toReader = new FileDataReader(to);
        this.cancellationToken = cancellationToken;
    }

    public static FileDifferences Compare(SourceImage from, SourceImage to, CancellationToken cancellationToken)
    {
        var comparison = new ImageFileComparison(from, to, cancellationToken);
        comparison.CompareEntries("/", from.Root, to.Root);
        // Walked depth first; listed in the byte order of whole paths ("/a.b" before "/a/b").
        return new FileDifferences(
            comparison.added.OrderBy(item => item.Key, StringComparer.Ordinal).Select(item => item.Entry).ToList(),
            comparison.removed.OrderBy(item => item.Key, StringComparer.Ordinal).Select(item => item.Entry).ToList(),
            comparison.changed.OrderBy(item => item.Key, StringComparer.Ordinal).Select(item => item.Change).ToList());
    }

    /// <summary>A path as squashfs stores it (one character a byte) is the sort key; it is shown as UTF-8.</summary>
    private static string Display(string key) => Encoding.UTF8.GetString(Inode.NameBytes(key));

    private static string ChildPath(string directory, string name) => directory == "/" ? "/" + name : directory + "/" + name;

    private void CompareEntries(string path, Inode from, Inode to)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var changes = Differences(from, to);
        if (changes.Any)
        {
            changed.Add((path, new ChangedFile(Display(path), changes)));
        }
        var fromChildren = from.Kind == EntryKind.Directory ? from.Children : null;
        var toChildren = to.Kind == EntryKind.Directory ? to.Children : null;
        foreach (var (name, child) in fromChildren ?? [])
        {
            var childPath = ChildPath(path, name);
            if (toChildren is not null && toChildren.TryGetValue(name, out var other))
            {
                CompareEntries(childPath, child, other);
            }
            else
            {
                List(removed, childPath, child);
            }
        }
        foreach (var (name, child) in toChildren ?? [])
        {
            if (fromChildren is null || !fromChildren.ContainsKey(name))
            {
                List(added, ChildPath(path, name), child);
            }
        }
    }

    /// <summary>Lists an entry only one image has, and everything under it.</summary>
    private void List(List<(string Key, FileEntry Entry)> list, string path, Inode inode)
    {
        cancellationToken.ThrowIfCancellationRequested();
        list.Add((path, Describe(path, inode)));
        foreach (var (name, child) in inode.Kind == EntryKind.Directory ? inode.Children : [])
        {
            List(list, ChildPath(path, name), child);
        }
    }

    private static FileEntry Describe(string path, Inode inode) => new(Display(path), TypeName(inode.Kind), Mode(inode), inode.Uid, inode.Gid,
        Size: inode.Kind == EntryKind.File ? inode.Content?.Size ?? 0 : null,
        LinkTarget: inode.Kind == EntryKind.Symlink ? LinkTarget(inode) : null,
        Device: inode.Kind is EntryKind.BlockDevice or EntryKind.CharacterDevice ? Device(inode.DeviceNumber) : null);

    private FileChanges Differences(Inode from, Inode to)
    {
        var changes = new FileChanges
        {
            Type = from.Kind != to.Kind ? [TypeName(from.Kind), TypeName(to.Kind)] : null,
            Mode = from.Permissions != to.Permissions ? [Mode(from), Mode(to)] : null,
            Uid = from.Uid != to.Uid ? [from.Uid, to.Uid] : null,
            Gid = from.Gid != to.Gid ? [from.Gid, to.Gid] : null,
            ExtendedAttributes = ChangedAttributeNames(from, to) is { Count: > 0 } names ? names : null,
        };
        if (from.Kind != to.Kind)
        {
            return changes;
        }
        switch (from.Kind)
        {
            case EntryKind.File:
                var fromContent = (SourceFileContent)from.Content!;
                var toContent = (SourceFileContent)to.Content!;
                if (fromContent.Size != toContent.Size)
                {
                    return changes with { Size = [fromContent.Size, toContent.Size] };
                }
                return FileDataReader.SameBytes(fromReader, fromContent, toReader, toContent)
                    ? changes
                    : changes with { Sha256 = [Sha256(fromReader, fromContent), Sha256(toReader, toContent)] };
            case EntryKind.Symlink when !from.SymlinkTarget.AsSpan().SequenceEqual(to.SymlinkTarget):
                return changes with { LinkTarget = [LinkTarget(from), LinkTarget(to)] };
            case EntryKind.BlockDevice or EntryKind.CharacterDevice when from.DeviceNumber != to.DeviceNumber:
                return changes with { Device = [Device(from.DeviceNumber), Device(to.DeviceNumber)] };
            default:
                return changes;
        }
    }

    private static List<string> ChangedAttributeNames(Inode from, Inode to)
    {
        if (from.ExtendedAttributes.SequenceEqual(to.ExtendedAttributes))
        {
            return [];
        }
        var before = from.ExtendedAttributes.ToLookup(attribute => attribute.Name, StringComparer.Ordinal);
        var after = to.ExtendedAttributes.ToLookup(attribute => attribute.Name, StringComparer.Ordinal);
        return before.Select(group => group.Key).Union(after.Select(group => group.Key), StringComparer.Ordinal)
            .Where(name => !before[name].SequenceEqual(after[name]))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private string Sha256(FileDataReader reader, SourceFileContent content)
    {
        using var stream = reader.Open(content);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int read;
        while ((read = stream.Read(hashBuffer)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hash.AppendData(hashBuffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static string TypeName(EntryKind kind) => kind switch
    {
        EntryKind.Directory => "directory",
        EntryKind.File => "file",
        EntryKind.Symlink => "symlink",
        EntryKind.BlockDevice => "block_device",
        EntryKind.CharacterDevice => "character_device",
        EntryKind.Fifo => "fifo",
        _ => "socket",
    };

    private static string Mode(Inode inode) => Convert.ToString(inode.Permissions, 8).PadLeft(4, '0');

    private static string LinkTarget(Inode inode) => Encoding.UTF8.GetString(inode.SymlinkTarget);

    /// <summary>major:minor from the kernel's new_encode_dev, as squashfs stores a device number.</summary>
    private static string Device(uint number)
        => string.Create(CultureInfo.InvariantCulture, $"{(number & 0xFFF00) >> 8}:{(number & 0xFF) | ((number >> 12) & 0xFFF00)}");
}
