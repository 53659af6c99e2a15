using System.Buffers.Binary;

namespace Cray.Squashfs;

/// <summary>
/// The distinct sets of extended attributes of an image being written: each set once in the
/// key/value stream, and its id entry <c>{u64 reference, u32 count, u32 size}</c>.
/// </summary>
internal sealed class AttributeSetWriter(BlockCompressor compressor)
{
    private readonly MetadataWriter keyValues = new(compressor);
    private readonly List<byte> idEntries = [];
    private readonly Dictionary<string, uint> indexes = new(StringComparer.Ordinal);

    public int Count => indexes.Count;

    public void Add(IReadOnlyList<ExtendedAttributePair> attributes)
    {
        if (attributes.Count == 0)
        {
            return;
        }
        var key = Key(attributes);
        if (indexes.ContainsKey(key))
        {
            return;
        }
        var reference = keyValues.Reference;
        uint size = 0;
        foreach (var attribute in attributes)
        {
            var prefix = Array.FindIndex(ExtendedAttributeTable.Prefixes, candidate => attribute.Name.StartsWith(candidate, StringComparison.Ordinal));
            if (prefix < 0)
            {
                throw new SquashfsFormatException($"the extended attribute {attribute.Name} is not in the user, trusted or security namespace");
            }
            var name = Inode.NameBytes(attribute.Name[ExtendedAttributeTable.Prefixes[prefix].Length..]);
            keyValues.WriteUInt16((ushort)prefix);
            keyValues.WriteUInt16((ushort)name.Length);
            keyValues.Write(name);
            keyValues.WriteUInt32((uint)attribute.Value.Length);
            keyValues.Write(attribute.Value);
            // As mksquashfs counts it: the names as listxattr gives them, and the values.
            size += (uint)(attribute.Name.Length + 1 + attribute.Value.Length);
        }
        Span<byte> entry = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(entry, reference);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], (uint)attributes.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], size);
        idEntries.AddRange(entry);
        indexes[key] = (uint)indexes.Count;
    }

    public uint IndexOf(IReadOnlyList<ExtendedAttributePair> attributes) => indexes[Key(attributes)];

    public (byte[] KeyValues, byte[] IdEntries) Finish() => (keyValues.Finish().Bytes, [.. idEntries]);

    private static string Key(IReadOnlyList<ExtendedAttributePair> attributes)
        => string.Concat(attributes.Select(attribute => $"{attribute.Name.Length}:{attribute.Name}{attribute.Value.Length}:{Convert.ToBase64String(attribute.Value)};"));
}
