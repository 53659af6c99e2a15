using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Cray.Squashfs;

/// <summary>A fragment table entry: where a fragment block is and its stored size (bit 24: stored as is).</summary>
public readonly record struct FragmentEntry(ulong Start, uint Size);

/// <summary>
/// A squashfs image read into a tree of <see cref="Inode"/>s whose files point at the image's own
/// blocks. Anything this code does not understand is a <see cref="SquashfsFormatException"/>: the
/// caller then packs with mksquashfs instead. The image is untrusted input: every count, reference
/// and length is checked before it is used.
/// </summary>
public sealed class SourceImage : IDisposable
{
    private const int MaximumDepth = 1024;

    private readonly uint[] ids;
    private readonly MetadataTable inodes;
    private readonly MetadataTable directories;
    private readonly ExtendedAttributeTable? attributes;
    private readonly Dictionary<int, Inode> inodesByPosition = [];
    private readonly HashSet<int> directoriesOpen = [];
    private readonly Dictionary<uint, Inode> inodesByNumber = [];

    private SourceImage(string path, SafeFileHandle file, Superblock superblock, BlockCompressor compressor, byte[] compressorOptionsBlock,
        uint[] ids, FragmentEntry[] fragments, MetadataTable inodes, MetadataTable directories, ExtendedAttributeTable? attributes)
    {
        Path = path;
        File = file;
        Superblock = superblock;
        Compressor = compressor;
        CompressorOptionsBlock = compressorOptionsBlock;
        this.ids = ids;
        Fragments = fragments;
        this.inodes = inodes;
        this.directories = directories;
        this.attributes = attributes;
        Root = ReadDirectoryTree(superblock.RootInodeReference, depth: 0);
        var runs = new Dictionary<ulong, ulong>();
        foreach (var inode in inodesByPosition.Values)
        {
            if (inode.Content is SourceFileContent { StoredLength: > 0 } content)
            {
                runs[content.BlocksStart] = Math.Max(runs.GetValueOrDefault(content.BlocksStart), content.StoredLength);
            }
        }
        BlockRuns = runs;
        // mksquashfs shares only identical runs: anything else overlapping is a crafted image, and zeroing what is dead could hit what lives.
        var extents = runs.Select(run => (Start: run.Key, Length: run.Value))
            .Concat(Fragments.Select(fragment => (fragment.Start, Length: (ulong)(fragment.Size & SourceFileContent.BlockSizeMask))))
            .OrderBy(extent => extent.Start).ToList();
        for (var i = 1; i < extents.Count; i++)
        {
            if (extents[i].Start < extents[i - 1].Start + extents[i - 1].Length)
            {
                throw new SquashfsFormatException($"data at {extents[i].Start} overlaps the blocks before it");
            }
        }
    }

    /// <summary>Every run of data blocks the image's files use, by start: what a copy of its data area holds.</summary>
    public IReadOnlyDictionary<ulong, ulong> BlockRuns { get; }

    /// <summary>The inode this image numbers so (an overlay's copy-up names its lower file by it).</summary>
    public Inode? InodeNumbered(uint number) => inodesByNumber.GetValueOrDefault(number);


    public string Path { get; }

    public SafeFileHandle File { get; }

    public Superblock Superblock { get; }

    public BlockCompressor Compressor { get; }

    /// <summary>The compressor options block as stored (its u16 header included), or empty.</summary>
    public byte[] CompressorOptionsBlock { get; }

    public IReadOnlyList<FragmentEntry> Fragments { get; }

    public Inode Root { get; }

    public static SourceImage Open(string path)
    {
        var file = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            return Read(path, file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static SourceImage Read(string path, SafeFileHandle file)
    {
        var length = (ulong)RandomAccess.GetLength(file);
        var superblockBytes = new byte[Superblock.Size];
        MetadataTable.ReadExactly(file, superblockBytes, 0);
        var superblock = Superblock.Read(superblockBytes);
        if (superblock.BytesUsed > length)
        {
            throw new SquashfsFormatException($"the superblock says the image uses {superblock.BytesUsed} bytes; the file has {length}");
        }
        var unhandled = superblock.Flags & (SuperblockFeatures.UncompressedInodes | SuperblockFeatures.UncompressedData | SuperblockFeatures.UncompressedFragments
            | SuperblockFeatures.UncompressedXattrs | SuperblockFeatures.UncompressedIds);
        if (unhandled != 0)
        {
            throw new SquashfsFormatException($"the image was made with uncompressed parts ({unhandled})");
        }
        var optionsBlock = Array.Empty<byte>();
        var options = Array.Empty<byte>();
        if (superblock.Flags.HasFlag(SuperblockFeatures.CompressorOptions))
        {
            var header = new byte[2];
            MetadataTable.ReadExactly(file, header, Superblock.Size);
            var size = BinaryPrimitives.ReadUInt16LittleEndian(header) & 0x7FFF;
            optionsBlock = new byte[2 + size];
            MetadataTable.ReadExactly(file, optionsBlock, Superblock.Size);
            if ((BinaryPrimitives.ReadUInt16LittleEndian(header) & 0x8000) == 0)
            {
                throw new SquashfsFormatException("the compressor options are compressed");
            }
            options = optionsBlock[2..];
        }
        var compressor = BlockCompressor.For(superblock.CompressionId, options);
        try
        {
            return ReadTables(path, file, superblock, compressor, optionsBlock);
        }
        catch
        {
            compressor.Dispose();
            throw;
        }
    }

    private static SourceImage ReadTables(string path, SafeFileHandle file, Superblock superblock, BlockCompressor compressor, byte[] optionsBlock)
    {
        var tableStarts = new List<ulong>();
        var idBytes = MetadataTable.ReadLookup(file, superblock.IdTableStart, superblock.IdCount, 4, compressor, out var idFirstBlock);
        tableStarts.Add(idFirstBlock);
        var ids = new uint[superblock.IdCount];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = BinaryPrimitives.ReadUInt32LittleEndian(idBytes.AsSpan(i * 4));
        }
        var fragments = Array.Empty<FragmentEntry>();
        if (superblock.FragmentTableStart != Superblock.NoTable)
        {
            var fragmentBytes = MetadataTable.ReadLookup(file, superblock.FragmentTableStart, superblock.FragmentCount, 16, compressor, out var fragmentFirstBlock);
            tableStarts.Add(fragmentFirstBlock);
            fragments = new FragmentEntry[superblock.FragmentCount];
            for (var i = 0; i < fragments.Length; i++)
            {
                fragments[i] = new FragmentEntry(BinaryPrimitives.ReadUInt64LittleEndian(fragmentBytes.AsSpan(i * 16)),
                    BinaryPrimitives.ReadUInt32LittleEndian(fragmentBytes.AsSpan(i * 16 + 8)));
            }
        }
        if (superblock.ExportTableStart != Superblock.NoTable)
        {
            MetadataTable.ReadLookup(file, superblock.ExportTableStart, superblock.InodeCount, 8, compressor, out var exportFirstBlock);
            tableStarts.Add(exportFirstBlock);
        }
        ExtendedAttributeTable? attributes = null;
        if (superblock.XattrIdTableStart != Superblock.NoTable)
        {
            attributes = ExtendedAttributeTable.Read(file, superblock.XattrIdTableStart, compressor, out var keyValueStart);
            tableStarts.Add(keyValueStart);
        }
        var directoryEnd = tableStarts.Where(start => start > superblock.DirectoryTableStart).DefaultIfEmpty(superblock.BytesUsed).Min();
        var inodes = MetadataTable.Read(file, superblock.InodeTableStart, superblock.DirectoryTableStart, compressor);
        var directories = MetadataTable.Read(file, superblock.DirectoryTableStart, directoryEnd, compressor);
        return new SourceImage(path, file, superblock, compressor, optionsBlock, ids, fragments, inodes, directories, attributes);
    }

    private uint Id(ushort index) => index < ids.Length ? ids[index] : throw new SquashfsFormatException($"an inode names id {index} of {ids.Length}");

    private IReadOnlyList<ExtendedAttributePair> Attributes(uint index)
        => index == uint.MaxValue ? []
            : attributes?.Get(index) ?? throw new SquashfsFormatException("an inode has extended attributes but the image has no xattr table");

    private Inode ReadDirectoryTree(ulong reference, int depth)
    {
        var position = inodes.Position(reference);
        var bytes = inodes.Bytes.AsSpan(position);
        var type = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
        if (type is not (1 or 8))
        {
            throw new SquashfsFormatException($"the root inode is of type {type}, not a directory");
        }
        return ReadInode(position, depth);
    }

    private Inode ReadInode(int position, int depth)
    {
        if (inodesByPosition.TryGetValue(position, out var known))
        {
            if (known.Kind == EntryKind.Directory)
            {
                throw new SquashfsFormatException("a directory is listed twice (a directory hard link or a loop)");
            }
            return known;
        }
        var reader = new FieldReader(inodes.Bytes, position);
        var type = reader.UInt16();
        var inode = new Inode(type is >= 1 and <= 14 ? (EntryKind)((type - 1) % 7 + 1) : throw new SquashfsFormatException($"an inode of type {type}"))
        {
            Permissions = (ushort)(reader.UInt16() & 0xFFF),
        };
        inode.Uid = Id(reader.UInt16());
        inode.Gid = Id(reader.UInt16());
        inode.ModifiedTime = reader.UInt32();
        var number = reader.UInt32(); // the writer numbers afresh; an overlay's origin names a lower file by it
        var extended = type > 7;
        inodesByPosition[position] = inode;
        inodesByNumber[number] = inode;
        switch (inode.Kind)
        {
            case EntryKind.Directory:
                ReadDirectory(inode, ref reader, extended, position, depth);
                break;
            case EntryKind.File:
                ReadFile(inode, ref reader, extended);
                break;
            case EntryKind.Symlink:
                reader.UInt32();
                var targetSize = reader.UInt32();
                inode.SymlinkTarget = targetSize is > 0 and <= 4096 ? reader.Bytes((int)targetSize)
                    : throw new SquashfsFormatException($"a symbolic link's target is {targetSize} bytes long");
                if (extended)
                {
                    inode.ExtendedAttributes = Attributes(reader.UInt32());
                }
                break;
            case EntryKind.BlockDevice or EntryKind.CharacterDevice:
                reader.UInt32();
                inode.DeviceNumber = reader.UInt32();
                if (extended)
                {
                    inode.ExtendedAttributes = Attributes(reader.UInt32());
                }
                break;
            default:
                reader.UInt32();
                if (extended)
                {
                    inode.ExtendedAttributes = Attributes(reader.UInt32());
                }
                break;
        }
        return inode;
    }

    private void ReadFile(Inode inode, ref FieldReader reader, bool extended)
    {
        ulong start, size, sparse = 0;
        uint fragment, fragmentOffset;
        if (extended)
        {
            start = reader.UInt64();
            size = reader.UInt64();
            sparse = reader.UInt64();
            reader.UInt32(); // nlink: the writer counts the entries
            fragment = reader.UInt32();
            fragmentOffset = reader.UInt32();
            inode.ExtendedAttributes = Attributes(reader.UInt32());
        }
        else
        {
            start = reader.UInt32();
            fragment = reader.UInt32();
            fragmentOffset = reader.UInt32();
            size = reader.UInt32();
        }
        var blockSize = Superblock.BlockSize;
        var hasFragment = fragment != SourceFileContent.NoFragment;
        if (hasFragment && (fragment >= Fragments.Count || (ulong)fragmentOffset + size % blockSize > blockSize
            || (Fragments[(int)fragment].Size & SourceFileContent.BlockSizeMask) > blockSize))
        {
            throw new SquashfsFormatException($"a file's tail is in fragment {fragment} at {fragmentOffset}, past the {Fragments.Count} fragments");
        }
        var blocks = hasFragment ? size / blockSize : (size + blockSize - 1) / blockSize;
        if (blocks > (ulong)(inodes.Bytes.Length - reader.Position) / 4)
        {
            throw new SquashfsFormatException($"a file of {size} bytes lists more block sizes than its inode table holds");
        }
        var sizes = new uint[blocks];
        for (var i = 0; i < sizes.Length; i++)
        {
            sizes[i] = reader.UInt32();
            if ((sizes[i] & SourceFileContent.BlockSizeMask) > blockSize || (sizes[i] & ~(SourceFileContent.BlockSizeMask | SourceFileContent.UncompressedBlock)) != 0)
            {
                throw new SquashfsFormatException($"a data block of {sizes[i] & SourceFileContent.BlockSizeMask} bytes in an image of {blockSize}-byte blocks");
            }
        }
        var content = new SourceFileContent(size, start, sizes, fragment, fragmentOffset, sparse);
        if (content.StoredLength > 0 && (start < Superblock.Size || content.StoredLength > Superblock.InodeTableStart || start > Superblock.InodeTableStart - content.StoredLength))
        {
            throw new SquashfsFormatException("a file's blocks lie outside the data area");
        }
        inode.Content = content;
    }

    private void ReadDirectory(Inode inode, ref FieldReader reader, bool extended, int position, int depth)
    {
        if (depth > MaximumDepth)
        {
            throw new SquashfsFormatException($"directories nest deeper than {MaximumDepth}");
        }
        uint block, size;
        ushort offset;
        if (extended)
        {
            reader.UInt32(); // nlink
            size = reader.UInt32();
            block = reader.UInt32();
            reader.UInt32(); // parent
            reader.UInt16(); // index count: the writer makes its own index
            offset = reader.UInt16();
            inode.ExtendedAttributes = Attributes(reader.UInt32());
        }
        else
        {
            block = reader.UInt32();
            reader.UInt32(); // nlink
            size = reader.UInt16();
            offset = reader.UInt16();
            reader.UInt32(); // parent
        }
        if (size <= 3)
        {
            return;
        }
        if (!directoriesOpen.Add(position))
        {
            throw new SquashfsFormatException("a directory contains itself");
        }
        var listing = new FieldReader(directories.Bytes, directories.Position(((ulong)block << 16) | offset));
        var listingEnd = listing.Position + (long)(size - 3);
        if (listingEnd > directories.Bytes.Length)
        {
            throw new SquashfsFormatException("a directory listing runs past its table");
        }
        var end = (int)listingEnd;
        while (listing.Position < end)
        {
            var count = listing.UInt32() + 1;
            var inodeBlock = listing.UInt32();
            var baseNumber = listing.UInt32();
            _ = baseNumber;
            if (count > 256)
            {
                throw new SquashfsFormatException($"a directory header counts {count} entries");
            }
            for (var i = 0; i < count; i++)
            {
                var inodeOffset = listing.UInt16();
                listing.UInt16(); // the inode number's difference from the header's
                listing.UInt16(); // the type, read again from the inode
                var nameSize = listing.UInt16() + 1;
                if (nameSize > 256)
                {
                    throw new SquashfsFormatException($"a directory entry's name is {nameSize} bytes long");
                }
                var name = Inode.NameFromBytes(listing.Bytes(nameSize));
                if (name is "." or ".." || name.Contains('/') || name.Contains('\0'))
                {
                    throw new SquashfsFormatException($"a directory entry is named '{name}'");
                }
                var child = ReadInode(inodes.Position(((ulong)inodeBlock << 16) | inodeOffset), depth + 1);
                if (!inode.Children.TryAdd(name, child))
                {
                    throw new SquashfsFormatException($"a directory lists '{name}' twice");
                }
            }
        }
        directoriesOpen.Remove(position);
    }

    public void Dispose()
    {
        File.Dispose();
        Compressor.Dispose();
    }
}

/// <summary>Little-endian fields read from a buffer, each read checked against its end.</summary>
internal ref struct FieldReader(byte[] buffer, int position)
{
    private readonly byte[] buffer = buffer;

    public int Position { get; private set; } = position;

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || Position + count > buffer.Length)
        {
            throw new SquashfsFormatException("a record runs past the end of its table");
        }
        var span = buffer.AsSpan(Position, count);
        Position += count;
        return span;
    }

    public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public byte[] Bytes(int count) => Take(count).ToArray();
}
