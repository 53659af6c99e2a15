using System.Buffers.Binary;
using System.IO.Compression;

namespace Cray.Squashfs;

/// <summary>
/// The image's one compressor, for data and metadata alike. New blocks are compressed with the
/// source's compressor and level, so a repacked image reads like the source to every kernel that
/// read the source.
/// </summary>
public abstract class BlockCompressor : IDisposable
{
    public const ushort GzipId = 1;
    public const ushort ZstdId = 6;

    /// <summary>The compressor as mksquashfs names it (zstd, gzip).</summary>
    public abstract string Kind { get; }

    /// <summary>The compressor and its level, for logs.</summary>
    public abstract string Name { get; }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>Decompresses one block into <paramref name="destination"/>; returns the bytes written.</summary>
    public abstract int Decompress(ReadOnlySpan<byte> source, Span<byte> destination);

    /// <summary>Compresses one block; returns the compressed size, or 0 when it would not be smaller (the block is then stored as it is).</summary>
    public abstract int Compress(ReadOnlySpan<byte> source, Span<byte> destination);

    /// <summary>A compressed block's length once decompressed, when its first bytes say so (zstd frames do); null otherwise.</summary>
    public virtual long? DecompressedLength(ReadOnlySpan<byte> start) => null;

    /// <summary>The compressor of an image, with the level its options block records (mksquashfs's default otherwise).</summary>
    public static BlockCompressor For(ushort compressionId, ReadOnlySpan<byte> options) => compressionId switch
    {
        ZstdId => new Zstd(options.Length >= 4 ? (int)Math.Clamp(BinaryPrimitives.ReadUInt32LittleEndian(options), 1u, 22u) : 15),
        GzipId => new Gzip(options.Length >= 4 ? (int)Math.Clamp(BinaryPrimitives.ReadUInt32LittleEndian(options), 1u, 9u) : 9),
        _ => throw new SquashfsFormatException($"compressor id {compressionId} is not zstd or gzip"),
    };

    private sealed class Zstd(int level) : BlockCompressor
    {
        // ZstdSharp's contexts are not thread-safe: one of each per thread.
        private readonly ThreadLocal<ZstdSharp.Compressor> compressor = new(() => new ZstdSharp.Compressor(level), trackAllValues: true);
        private readonly ThreadLocal<ZstdSharp.Decompressor> decompressor = new(() => new ZstdSharp.Decompressor(), trackAllValues: true);

        public override string Kind => "zstd";

        public override string Name => $"zstd (level {level})";

        public override void Dispose()
        {
            foreach (var context in compressor.Values)
            {
                context.Dispose();
            }
            foreach (var context in decompressor.Values)
            {
                context.Dispose();
            }
            compressor.Dispose();
            decompressor.Dispose();
            base.Dispose();
        }

        public override int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
        {
            try
            {
                return decompressor.Value!.Unwrap(source, destination);
            }
            catch (ZstdSharp.ZstdException exception)
            {
                throw new SquashfsFormatException($"a zstd block does not decompress: {exception.Message}");
            }
        }

        /// <summary>The frame content size from the zstd frame header (RFC 8878, 3.1.1.1), which the block's first bytes hold.</summary>
        public override long? DecompressedLength(ReadOnlySpan<byte> start)
        {
            if (start.Length < 6 || BinaryPrimitives.ReadUInt32LittleEndian(start) != 0xFD2FB528)
            {
                return null;
            }
            var descriptor = start[4];
            var singleSegment = (descriptor & 0x20) != 0;
            var position = 5 + (singleSegment ? 0 : 1) + (descriptor & 3) switch { 0 => 0, 1 => 1, 2 => 2, _ => 4 };
            var fieldSize = (descriptor >> 6) switch { 0 => singleSegment ? 1 : 0, 1 => 2, 2 => 4, _ => 8 };
            if (fieldSize == 0 || start.Length < position + fieldSize)
            {
                return null;
            }
            var field = start.Slice(position, fieldSize);
            return fieldSize switch
            {
                1 => field[0],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(field) + 256,
                4 => BinaryPrimitives.ReadUInt32LittleEndian(field),
                _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(field), long.MaxValue),
            };
        }

        public override int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
            => compressor.Value!.TryWrap(source, destination[..Math.Min(destination.Length, source.Length - 1)], out var written) ? written : 0;
    }

    private sealed class Gzip(int level) : BlockCompressor
    {
        public override string Kind => "gzip";

        public override string Name => $"gzip (level {level})";

        public override int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
        {
            try
            {
                unsafe
                {
                    fixed (byte* pointer = source)
                    {
                        using var input = new UnmanagedMemoryStream(pointer, source.Length);
                        using var inflater = new ZLibStream(input, CompressionMode.Decompress);
                        var total = 0;
                        int read;
                        while (total < destination.Length && (read = inflater.Read(destination[total..])) > 0)
                        {
                            total += read;
                        }
                        return total;
                    }
                }
            }
            catch (InvalidDataException exception)
            {
                throw new SquashfsFormatException($"a gzip block does not decompress: {exception.Message}");
            }
        }

        public override int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
        {
            using var output = new MemoryStream();
            using (var deflater = new ZLibStream(output, level >= 9 ? CompressionLevel.SmallestSize : level <= 1 ? CompressionLevel.Fastest : CompressionLevel.Optimal, leaveOpen: true))
            {
                deflater.Write(source);
            }
            if (output.Length >= source.Length || output.Length > destination.Length)
            {
                return 0;
            }
            output.GetBuffer().AsSpan(0, (int)output.Length).CopyTo(destination);
            return (int)output.Length;
        }
    }
}
