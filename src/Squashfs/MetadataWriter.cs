using System.Buffers;
using System.Buffers.Binary;

namespace Cray.Squashfs;

/// <summary>
/// Writes a metadata stream: bytes are gathered in 8 KiB blocks, each compressed (or kept as it is
/// when that is not smaller) behind its u16 length. <see cref="Reference"/> is where the next byte
/// goes, as inodes and directory headers refer to it.
/// </summary>
internal sealed class MetadataWriter(BlockCompressor compressor)
{
    private readonly System.Buffers.ArrayBufferWriter<byte> written = new(1 << 16);
    private readonly byte[] pending = new byte[MetadataTable.BlockSize];
    private readonly byte[] compressed = new byte[MetadataTable.BlockSize];
    private int pendingLength;

    /// <summary>The start of the block being filled, relative to the table's start.</summary>
    public long BlockStart => written.WrittenCount;

    /// <summary>The next byte's offset in the block being filled.</summary>
    public int Offset => pendingLength;

    public ulong Reference => ((ulong)BlockStart << 16) | (uint)Offset;

    /// <summary>Bytes written so far, counted before compression.</summary>
    public long UncompressedLength { get; private set; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        UncompressedLength += bytes.Length;
        while (bytes.Length > 0)
        {
            var take = Math.Min(bytes.Length, pending.Length - pendingLength);
            bytes[..take].CopyTo(pending.AsSpan(pendingLength));
            pendingLength += take;
            bytes = bytes[take..];
            if (pendingLength == pending.Length)
            {
                Flush();
            }
        }
    }

    public void WriteUInt16(ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        Write(bytes);
    }

    public void WriteUInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Write(bytes);
    }

    public void WriteUInt64(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        Write(bytes);
    }

    /// <summary>Closes the last block and returns the table as stored, with the start of each block.</summary>
    public (byte[] Bytes, List<long> BlockStarts) Finish()
    {
        if (pendingLength > 0)
        {
            Flush();
        }
        return (written.WrittenSpan.ToArray(), blockStarts);
    }

    private readonly List<long> blockStarts = [];

    private void Flush()
    {
        blockStarts.Add(written.WrittenCount);
        var size = compressor.Compress(pending.AsSpan(0, pendingLength), compressed);
        Span<byte> header = stackalloc byte[2];
        if (size == 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(0x8000 | pendingLength));
            written.Write(header);
            written.Write(pending.AsSpan(0, pendingLength));
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)size);
            written.Write(header);
            written.Write(compressed.AsSpan(0, size));
        }
        pendingLength = 0;
    }
}
