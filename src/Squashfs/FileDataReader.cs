namespace Cray.Squashfs;

/// <summary>
/// Regular files' bytes out of a <see cref="SourceImage"/>, one data block at a time, so that a file
/// of any size costs a block of memory. The fragment block read last is kept: neighbouring small
/// files share one, and a walk in path order meets them one after another. One reader per thread;
/// its buffers are reused from file to file, since a comparison of two roots meets tens of thousands.
/// </summary>
public sealed class FileDataReader(SourceImage image)
{
    private readonly int blockSize = (int)image.Superblock.BlockSize;
    private readonly byte[] storedBlock = new byte[image.Superblock.BlockSize];
    private readonly byte[] comparedStored = new byte[image.Superblock.BlockSize];
    private readonly byte[] dataBlock = new byte[image.Superblock.BlockSize];
    private readonly byte[] comparedData = new byte[image.Superblock.BlockSize];
    private byte[]? fragmentBlock;
    private int fragmentLength;
    private uint fragmentIndex = SourceFileContent.NoFragment;

    public SourceImage Image { get; } = image;

    /// <summary>The file's bytes, forward only.</summary>
    public Stream Open(SourceFileContent content) => new ContentStream(this, content, new byte[blockSize]);

    /// <summary>
    /// Whether two files hold the same bytes, read only as far as the first difference. Images of one
    /// compressor and block size are compared block by block as stored, and a block stored with the
    /// same bytes in both is not decompressed: the same compressed bytes decompress to the same bytes.
    /// The readers must be two (of two images, or two of one), as each lends its buffers.
    /// </summary>
    public static bool SameBytes(FileDataReader first, SourceFileContent firstContent, FileDataReader second, SourceFileContent secondContent)
    {
        if (ReferenceEquals(first, second))
        {
            throw new ArgumentException("a comparison needs two readers", nameof(second));
        }
        if (firstContent.Size != secondContent.Size)
        {
            return false;
        }
        var sameLayout = first.blockSize == second.blockSize && first.Image.Compressor.Kind == second.Image.Compressor.Kind
            && firstContent.BlockSizes.Length == secondContent.BlockSizes.Length
            && HasFragment(firstContent) == HasFragment(secondContent);
        return sameLayout ? SameBlocks(first, firstContent, second, secondContent) : SameStreams(first, firstContent, second, secondContent);
    }

    private static bool SameBlocks(FileDataReader first, SourceFileContent firstContent, FileDataReader second, SourceFileContent secondContent)
    {
        var firstStart = firstContent.BlocksStart;
        var secondStart = secondContent.BlocksStart;
        for (var index = 0; index < firstContent.BlockSizes.Length; index++)
        {
            var firstSize = firstContent.BlockSizes[index];
            var secondSize = secondContent.BlockSizes[index];
            var length = (int)(firstSize & SourceFileContent.BlockSizeMask);
            var storedAlike = firstSize == secondSize
                && (length == 0 || StoredBytesEqual(first.Image, firstStart, first.comparedStored.AsSpan(0, length), second.Image, secondStart, second.comparedStored.AsSpan(0, length)));
            if (!storedAlike)
            {
                var firstLength = first.ReadBlock(firstContent, index, firstStart, first.dataBlock);
                var secondLength = second.ReadBlock(secondContent, index, secondStart, second.dataBlock);
                if (!first.dataBlock.AsSpan(0, firstLength).SequenceEqual(second.dataBlock.AsSpan(0, secondLength)))
                {
                    return false;
                }
            }
            firstStart += firstSize & SourceFileContent.BlockSizeMask;
            secondStart += secondSize & SourceFileContent.BlockSizeMask;
        }
        if (!HasFragment(firstContent))
        {
            return true;
        }
        return first.Tail(firstContent).SequenceEqual(second.Tail(secondContent));
    }

    /// <summary>Whether two stored blocks of one length hold the same bytes.</summary>
    private static bool StoredBytesEqual(SourceImage first, ulong firstStart, Span<byte> firstBytes, SourceImage second, ulong secondStart, Span<byte> secondBytes)
    {
        MetadataTable.ReadExactly(first.File, firstBytes, (long)firstStart);
        MetadataTable.ReadExactly(second.File, secondBytes, (long)secondStart);
        return firstBytes.SequenceEqual(secondBytes);
    }

    /// <summary>Images of other compressors or block sizes: both files decompressed and compared as they go.</summary>
    private static bool SameStreams(FileDataReader first, SourceFileContent firstContent, FileDataReader second, SourceFileContent secondContent)
    {
        using var firstStream = new ContentStream(first, firstContent, first.dataBlock);
        using var secondStream = new ContentStream(second, secondContent, second.dataBlock);
        var length = Math.Min(first.blockSize, second.blockSize);
        while (true)
        {
            var firstRead = firstStream.ReadAtLeast(first.comparedData.AsSpan(0, length), length, throwOnEndOfStream: false);
            var secondRead = secondStream.ReadAtLeast(second.comparedData.AsSpan(0, length), length, throwOnEndOfStream: false);
            if (!first.comparedData.AsSpan(0, firstRead).SequenceEqual(second.comparedData.AsSpan(0, secondRead)))
            {
                return false;
            }
            if (firstRead < length)
            {
                return true;
            }
        }
    }

    private static bool HasFragment(SourceFileContent content) => content.FragmentIndex != SourceFileContent.NoFragment;

    /// <summary>How many bytes block <paramref name="index"/> holds once decompressed: a whole block but for the last of a file without a tail.</summary>
    private int ExpectedLength(SourceFileContent content, int index)
        => index < content.BlockSizes.Length - 1 || HasFragment(content)
            ? blockSize
            : (int)(content.Size - (ulong)index * (ulong)blockSize);

    /// <summary>Decompresses data block <paramref name="index"/>, stored at <paramref name="start"/>, into <paramref name="destination"/>; returns its length.</summary>
    private int ReadBlock(SourceFileContent content, int index, ulong start, byte[] destination)
    {
        var expected = ExpectedLength(content, index);
        var stored = content.BlockSizes[index];
        var length = (int)(stored & SourceFileContent.BlockSizeMask);
        if (length == 0)
        {
            destination.AsSpan(0, expected).Clear();
            return expected;
        }
        var raw = storedBlock.AsSpan(0, length);
        MetadataTable.ReadExactly(Image.File, raw, (long)start);
        int decompressed;
        if ((stored & SourceFileContent.UncompressedBlock) != 0)
        {
            raw.CopyTo(destination);
            decompressed = length;
        }
        else
        {
            decompressed = Image.Compressor.Decompress(raw, destination);
        }
        return decompressed == expected ? expected
            : throw new SquashfsFormatException($"a data block holds {decompressed} bytes where its file needs {expected}");
    }

    /// <summary>The file's last bytes, kept in a fragment block.</summary>
    private ReadOnlySpan<byte> Tail(SourceFileContent content)
    {
        var length = (int)(content.Size - (ulong)content.BlockSizes.Length * (ulong)blockSize);
        if (fragmentIndex != content.FragmentIndex)
        {
            // The image checked the index against its fragment table when it read the inode.
            var entry = Image.Fragments[(int)content.FragmentIndex];
            var stored = (int)(entry.Size & SourceFileContent.BlockSizeMask);
            fragmentBlock ??= new byte[blockSize];
            fragmentIndex = SourceFileContent.NoFragment;
            var raw = storedBlock.AsSpan(0, stored);
            MetadataTable.ReadExactly(Image.File, raw, (long)entry.Start);
            if ((entry.Size & SourceFileContent.UncompressedBlock) != 0)
            {
                raw.CopyTo(fragmentBlock);
                fragmentLength = stored;
            }
            else
            {
                fragmentLength = Image.Compressor.Decompress(raw, fragmentBlock);
            }
            fragmentIndex = content.FragmentIndex;
        }
        return content.FragmentOffset + (ulong)length <= (ulong)fragmentLength
            ? fragmentBlock.AsSpan((int)content.FragmentOffset, length)
            : throw new SquashfsFormatException($"a file's tail runs past the {fragmentLength} bytes of fragment block {content.FragmentIndex}");
    }

    /// <summary>A file's bytes, decompressed a block at a time as they are read.</summary>
    private sealed class ContentStream(FileDataReader reader, SourceFileContent content, byte[] block) : Stream
    {
        private ulong nextStart = content.BlocksStart;
        private int nextIndex;
        private bool tailRead;
        private int blockLength;
        private int blockPosition;
        private long position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => (long)content.Size;

        public override long Position
        {
            get => position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (blockPosition == blockLength && !Fill())
            {
                return 0;
            }
            var take = Math.Min(buffer.Length, blockLength - blockPosition);
            block.AsSpan(blockPosition, take).CopyTo(buffer);
            blockPosition += take;
            position += take;
            return take;
        }

        /// <summary>Loads the next block or the tail; false at the end of the file.</summary>
        private bool Fill()
        {
            blockPosition = 0;
            if (nextIndex < content.BlockSizes.Length)
            {
                blockLength = reader.ReadBlock(content, nextIndex, nextStart, block);
                nextStart += content.BlockSizes[nextIndex] & SourceFileContent.BlockSizeMask;
                nextIndex++;
                return true;
            }
            if (HasFragment(content) && !tailRead)
            {
                tailRead = true;
                var tail = reader.Tail(content);
                tail.CopyTo(block);
                blockLength = tail.Length;
                return blockLength > 0;
            }
            blockLength = 0;
            return false;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
