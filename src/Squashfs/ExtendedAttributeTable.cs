using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Cray.Squashfs;

/// <summary>
/// An image's extended attributes: the key/value metadata blocks and the id table of
/// <c>{u64 reference, u32 count, u32 size}</c> entries the inodes index.
/// </summary>
internal sealed class ExtendedAttributeTable
{
    /// <summary>The prefixes squashfs stores as a type instead of text; bit 8 of the type means the value is stored elsewhere.</summary>
    public static readonly string[] Prefixes = ["user.", "trusted.", "security."];

    public const ushort OutOfLineValue = 0x0100;

    private readonly MetadataTable keyValues;
    private readonly byte[] entries;
    private readonly Dictionary<uint, IReadOnlyList<ExtendedAttributePair>> sets = [];

    private ExtendedAttributeTable(MetadataTable keyValues, byte[] entries)
    {
        this.keyValues = keyValues;
        this.entries = entries;
    }

    public static ExtendedAttributeTable Read(SafeFileHandle file, ulong idTableStart, BlockCompressor compressor, out ulong keyValueStart)
    {
        var header = new byte[16];
        MetadataTable.ReadExactly(file, header, (long)idTableStart);
        keyValueStart = BinaryPrimitives.ReadUInt64LittleEndian(header);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        var entries = MetadataTable.ReadLookup(file, idTableStart + 16, count, 16, compressor, out var firstBlock);
        return new ExtendedAttributeTable(MetadataTable.Read(file, keyValueStart, firstBlock, compressor), entries);
    }

    public IReadOnlyList<ExtendedAttributePair> Get(uint index)
    {
        if (sets.TryGetValue(index, out var known))
        {
            return known;
        }
        if ((long)index * 16 + 16 > entries.Length)
        {
            throw new SquashfsFormatException($"an inode names xattr set {index} of {entries.Length / 16}");
        }
        var reference = BinaryPrimitives.ReadUInt64LittleEndian(entries.AsSpan((int)index * 16));
        var count = BinaryPrimitives.ReadUInt32LittleEndian(entries.AsSpan((int)index * 16 + 8));
        var reader = new FieldReader(keyValues.Bytes, keyValues.Position(reference));
        var attributes = new List<ExtendedAttributePair>();
        for (var i = 0; i < count; i++)
        {
            var type = reader.UInt16();
            var nameSize = reader.UInt16();
            var prefix = (type & 0xFF) < Prefixes.Length ? Prefixes[type & 0xFF] : throw new SquashfsFormatException($"an xattr of prefix type {type & 0xFF}");
            var name = prefix + Inode.NameFromBytes(reader.Bytes(nameSize));
            var valueSize = reader.UInt32();
            byte[] value;
            if ((type & OutOfLineValue) != 0)
            {
                if (valueSize != 8)
                {
                    throw new SquashfsFormatException("an out-of-line xattr value reference is not 8 bytes");
                }
                var elsewhere = new FieldReader(keyValues.Bytes, keyValues.Position(reader.UInt64()));
                value = elsewhere.Bytes(checked((int)elsewhere.UInt32()));
            }
            else
            {
                value = reader.Bytes(checked((int)valueSize));
            }
            attributes.Add(new ExtendedAttributePair(name, value));
        }
        sets[index] = attributes;
        return attributes;
    }
}
