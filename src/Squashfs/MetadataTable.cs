using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Cray.Squashfs;

/// <summary>
/// A run of metadata blocks (8 KiB each once decompressed, a u16 length in front, bit 15 meaning
/// stored as is) read whole into one buffer, with where each block's start landed in it: a
/// reference <c>block &lt;&lt; 16 | offset</c> becomes a position in <see cref="Bytes"/>.
/// </summary>
internal sealed class MetadataTable
{
    public const int BlockSize = 8192;

    /// <summary>A bound on one decompressed table: about 20 million inodes' worth, far past any real image, short of what a crafted one could claim.</summary>
    public const int MaximumTableBytes = 1 << 30;

    private readonly Dictionary<ulong, int> blockPositions;

    private MetadataTable(byte[] bytes, Dictionary<ulong, int> blockPositions)
    {
        Bytes = bytes;
        this.blockPositions = blockPositions;
    }

    public byte[] Bytes { get; }

    public static MetadataTable Read(SafeFileHandle file, ulong start, ulong end, BlockCompressor compressor)
    {
        if (end < start || end - start > int.MaxValue)
        {
            throw new SquashfsFormatException($"a metadata table runs from {start} to {end}");
        }
        var raw = new byte[end - start];
        ReadExactly(file, raw, (long)start);
        var output = new List<byte>((int)Math.Min(raw.Length * 4L, 1 << 28));
        var positions = new Dictionary<ulong, int>();
        var block = new byte[BlockSize];
        var offset = 0;
        while (offset < raw.Length)
        {
            positions[(ulong)offset] = output.Count;
            var length = ReadBlock(raw.AsSpan(offset), block, compressor, out var consumed);
            output.AddRange(block.AsSpan(0, length));
            offset += consumed;
            if (output.Count > MaximumTableBytes)
            {
                throw new SquashfsFormatException($"a metadata table decompresses to more than {MaximumTableBytes >> 20} MiB");
            }
        }
        return new MetadataTable([.. output], positions);
    }

    /// <summary>Decompresses the metadata block at the start of <paramref name="raw"/>.</summary>
    public static int ReadBlock(ReadOnlySpan<byte> raw, Span<byte> block, BlockCompressor compressor, out int consumed)
    {
        if (raw.Length < 2)
        {
            throw new SquashfsFormatException("a metadata block is cut short");
        }
        var header = BinaryPrimitives.ReadUInt16LittleEndian(raw);
        var size = header & 0x7FFF;
        if (size == 0 || size > BlockSize || raw.Length < 2 + size)
        {
            throw new SquashfsFormatException($"a metadata block says it holds {size} bytes");
        }
        consumed = 2 + size;
        var payload = raw.Slice(2, size);
        if ((header & 0x8000) != 0)
        {
            payload.CopyTo(block);
            return size;
        }
        return compressor.Decompress(payload, block);
    }

    /// <summary>Where the reference's byte is in <see cref="Bytes"/>.</summary>
    public int Position(ulong reference)
    {
        if (!blockPositions.TryGetValue(reference >> 16, out var blockPosition))
        {
            throw new SquashfsFormatException($"a reference points at no metadata block ({reference >> 16})");
        }
        var position = blockPosition + (int)(reference & 0xFFFF);
        return position < Bytes.Length ? position : throw new SquashfsFormatException("a reference points past its table");
    }

    /// <summary>
    /// A lookup table (ids, fragments, exports, xattr ids): <paramref name="count"/> entries of
    /// <paramref name="entrySize"/> bytes in metadata blocks listed by the u64 positions at <paramref name="indexStart"/>.
    /// </summary>
    public static byte[] ReadLookup(SafeFileHandle file, ulong indexStart, uint count, int entrySize, BlockCompressor compressor, out ulong firstBlock)
    {
        var total = checked((int)(count * (long)entrySize));
        var blocks = (total + BlockSize - 1) / BlockSize;
        var index = new byte[blocks * 8];
        ReadExactly(file, index, (long)indexStart);
        var output = new byte[total];
        var block = new byte[BlockSize];
        var header = new byte[2 + BlockSize];
        var written = 0;
        firstBlock = blocks > 0 ? BinaryPrimitives.ReadUInt64LittleEndian(index) : indexStart;
        ulong previous = 0;
        for (var i = 0; i < blocks; i++)
        {
            var position = BinaryPrimitives.ReadUInt64LittleEndian(index.AsSpan(i * 8));
            // As the kernel checks: each block after the one before, none further than a whole block away, all before the list.
            if (position >= indexStart || (i > 0 && (position <= previous || position - previous > BlockSize + 2)))
            {
                throw new SquashfsFormatException("a lookup table lists its blocks out of order or out of place");
            }
            previous = position;
            var available = (int)Math.Min(header.Length, (long)(indexStart - Math.Min(position, indexStart)));
            if (available < 2)
            {
                throw new SquashfsFormatException("a lookup table's block lies outside the table");
            }
            ReadExactly(file, header.AsSpan(0, available), (long)position);
            var length = ReadBlock(header.AsSpan(0, available), block, compressor, out _);
            var take = Math.Min(length, total - written);
            block.AsSpan(0, take).CopyTo(output.AsSpan(written));
            written += take;
        }
        return written == total ? output : throw new SquashfsFormatException("a lookup table is shorter than its count");
    }

    public static void ReadExactly(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var read = RandomAccess.Read(file, buffer[done..], offset + done);
            if (read == 0)
            {
                throw new SquashfsFormatException($"the image ends before byte {offset + buffer.Length}");
            }
            done += read;
        }
    }
}
