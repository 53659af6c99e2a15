using System.Buffers.Binary;

namespace Cray.Squashfs;

/// <summary>The 96-byte squashfs 4.0 superblock (the kernel's <c>Documentation/filesystems/squashfs.rst</c>).</summary>
public sealed record Superblock
{
    public const int Size = 96;
    public const uint Magic = 0x73717368;
    public const ulong NoTable = ulong.MaxValue;

    public uint InodeCount { get; init; }
    public uint ModificationTime { get; init; }
    public uint BlockSize { get; init; }
    public uint FragmentCount { get; init; }
    public ushort CompressionId { get; init; }
    public ushort BlockLog { get; init; }
    public SuperblockFeatures Flags { get; init; }
    public ushort IdCount { get; init; }
    public ulong RootInodeReference { get; init; }
    public ulong BytesUsed { get; init; }
    public ulong IdTableStart { get; init; }
    public ulong XattrIdTableStart { get; init; } = NoTable;
    public ulong InodeTableStart { get; init; }
    public ulong DirectoryTableStart { get; init; }
    public ulong FragmentTableStart { get; init; } = NoTable;
    public ulong ExportTableStart { get; init; } = NoTable;

    /// <summary>Reads and checks a superblock: why it cannot be read is a <see cref="SquashfsFormatException"/>.</summary>
    public static Superblock Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Size || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            throw new SquashfsFormatException("not a squashfs image (no squashfs magic at its start)");
        }
        var major = BinaryPrimitives.ReadUInt16LittleEndian(bytes[28..]);
        var minor = BinaryPrimitives.ReadUInt16LittleEndian(bytes[30..]);
        if (major != 4 || minor != 0)
        {
            throw new SquashfsFormatException($"squashfs version {major}.{minor}; only 4.0 is read");
        }
        var superblock = new Superblock
        {
            InodeCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]),
            ModificationTime = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]),
            BlockSize = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]),
            FragmentCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]),
            CompressionId = BinaryPrimitives.ReadUInt16LittleEndian(bytes[20..]),
            BlockLog = BinaryPrimitives.ReadUInt16LittleEndian(bytes[22..]),
            Flags = (SuperblockFeatures)BinaryPrimitives.ReadUInt16LittleEndian(bytes[24..]),
            IdCount = BinaryPrimitives.ReadUInt16LittleEndian(bytes[26..]),
            RootInodeReference = BinaryPrimitives.ReadUInt64LittleEndian(bytes[32..]),
            BytesUsed = BinaryPrimitives.ReadUInt64LittleEndian(bytes[40..]),
            IdTableStart = BinaryPrimitives.ReadUInt64LittleEndian(bytes[48..]),
            XattrIdTableStart = BinaryPrimitives.ReadUInt64LittleEndian(bytes[56..]),
            InodeTableStart = BinaryPrimitives.ReadUInt64LittleEndian(bytes[64..]),
            DirectoryTableStart = BinaryPrimitives.ReadUInt64LittleEndian(bytes[72..]),
            FragmentTableStart = BinaryPrimitives.ReadUInt64LittleEndian(bytes[80..]),
            ExportTableStart = BinaryPrimitives.ReadUInt64LittleEndian(bytes[88..]),
        };
        if (superblock.BlockSize is < 4096 or > 1 << 20 || 1u << superblock.BlockLog != superblock.BlockSize)
        {
            throw new SquashfsFormatException($"block size {superblock.BlockSize} (log {superblock.BlockLog}) is not a power of two from 4 KiB to 1 MiB");
        }
        return superblock;
    }

    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], InodeCount);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], ModificationTime);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[12..], BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[16..], FragmentCount);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[20..], CompressionId);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[22..], BlockLog);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[24..], (ushort)Flags);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[26..], IdCount);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[28..], 4);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[30..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[32..], RootInodeReference);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[40..], BytesUsed);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[48..], IdTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[56..], XattrIdTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[64..], InodeTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[72..], DirectoryTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[80..], FragmentTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[88..], ExportTableStart);
    }
}

[Flags]
public enum SuperblockFeatures : ushort
{
    None = 0,
    UncompressedInodes = 0x0001,
    UncompressedData = 0x0002,
    Check = 0x0004,
    UncompressedFragments = 0x0008,
    NoFragments = 0x0010,
    AlwaysFragments = 0x0020,
    Duplicates = 0x0040,
    Exportable = 0x0080,
    UncompressedXattrs = 0x0100,
    NoXattrs = 0x0200,
    CompressorOptions = 0x0400,
    UncompressedIds = 0x0800,
}

/// <summary>An image this code does not read or cannot trust: the caller packs with mksquashfs instead.</summary>
public sealed class SquashfsFormatException(string message) : Exception(message);
