using System.Text;

namespace Cray.Squashfs;

/// <summary>What a directory entry is, numbered as the squashfs basic inode types.</summary>
public enum EntryKind : ushort
{
    Directory = 1,
    File = 2,
    Symlink = 3,
    BlockDevice = 4,
    CharacterDevice = 5,
    Fifo = 6,
    Socket = 7,
}

/// <summary>
/// One inode of an image being read or written. Hard links are several directory entries holding
/// the same <see cref="Inode"/> object. Names are kept as Latin-1 strings, one character per byte
/// of the name on disk, so that ordinal order is squashfs's byte order and no name is re-encoded.
/// </summary>
public sealed class Inode(EntryKind kind)
{
    public EntryKind Kind { get; set; } = kind;

    /// <summary>The twelve permission bits (set-user-id, set-group-id and sticky included).</summary>
    public ushort Permissions { get; set; }

    public uint Uid { get; set; }

    public uint Gid { get; set; }

    public uint ModifiedTime { get; set; }

    public IReadOnlyList<ExtendedAttributePair> ExtendedAttributes { get; set; } = [];

    /// <summary>A directory's entries, in squashfs's byte order.</summary>
    public SortedDictionary<string, Inode> Children { get; } = new(StringComparer.Ordinal);

    /// <summary>A regular file's contents: blocks of the source image, or a file on the host to compress.</summary>
    public FileContent? Content { get; set; }

    public byte[] SymlinkTarget { get; set; } = [];

    /// <summary>A device's number as squashfs stores it (the kernel's new_encode_dev).</summary>
    public uint DeviceNumber { get; set; }

    public static string NameFromBytes(ReadOnlySpan<byte> name) => Encoding.Latin1.GetString(name);

    public static byte[] NameBytes(string name) => Encoding.Latin1.GetBytes(name);

    /// <summary>The name of a host file as squashfs stores it (its UTF-8 bytes, one character each).</summary>
    public static string NameFromHost(string hostName) => NameFromBytes(Encoding.UTF8.GetBytes(hostName));
}

/// <summary>One extended attribute, by its full name (<c>security.capability</c>).</summary>
public sealed record ExtendedAttributePair(string Name, byte[] Value)
{
    public bool Equals(ExtendedAttributePair? other) => other is not null && Name == other.Name && Value.AsSpan().SequenceEqual(other.Value);

    public override int GetHashCode() => HashCode.Combine(Name, Value.Length);
}

/// <summary>Where a regular file's bytes come from.</summary>
public abstract record FileContent(ulong Size);

/// <summary>
/// Blocks of the source image, copied as they are: the run of data blocks at <see cref="BlocksStart"/>
/// (sizes as stored: bit 24 uncompressed, 0 a sparse block) and a tail in a fragment block.
/// </summary>
public sealed record SourceFileContent(ulong Size, ulong BlocksStart, uint[] BlockSizes, uint FragmentIndex, uint FragmentOffset, ulong Sparse) : FileContent(Size)
{
    public const uint NoFragment = uint.MaxValue;

    /// <summary>Bytes of the block run on disk.</summary>
    public ulong StoredLength => BlockSizes.Aggregate(0UL, (total, size) => total + (size & BlockSizeMask));

    public const uint BlockSizeMask = 0x00FF_FFFF;
    public const uint UncompressedBlock = 0x0100_0000;
}

/// <summary>A file on the host (an overlay's upper directory) whose bytes are compressed anew; the device and inode lstat saw, to open that file and no other.</summary>
public sealed record HostFileContent(ulong Size, string Path, ulong Device, ulong InodeNumber) : FileContent(Size);
