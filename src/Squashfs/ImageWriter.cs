using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Cray.Squashfs;

/// <summary>What a write did: the image's size, the bytes copied as they were, and the bytes compressed anew.</summary>
public sealed record WriteSummary(long ImageBytes, long CopiedBytes, long NewFileBytes, int NewFiles, int CopiedFragmentBlocks, long UnreferencedFragmentBytes);

/// <summary>
/// Writes a squashfs 4.0 image from a tree: the source image's data blocks and fragment blocks
/// that some file still uses are copied once each, as they are; files from the host are
/// compressed with the source's compressor and block size; every table (inodes, directories with
/// their indexes, fragments, exports, ids, extended attributes) and the superblock are written
/// from scratch. Children are written before their parent, so each reference is known when it is
/// needed.
/// </summary>
public sealed class ImageWriter
{
    private const uint NoAttributes = uint.MaxValue;

    private readonly SourceImage source;
    private readonly Superblock sourceSuperblock;
    private readonly BlockCompressor compressor;
    private readonly SafeFileHandle output;
    private readonly uint blockSize;
    private readonly byte[] copyBuffer = new byte[1 << 20];
    private readonly Dictionary<Inode, uint> numbers = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Inode, uint> links = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Inode, uint> parents = new(ReferenceEqualityComparer.Instance);
    private readonly List<Inode> order = [];
    private readonly Dictionary<Inode, PlacedContent> placed = new(ReferenceEqualityComparer.Instance);
    private readonly List<FragmentEntry> fragments = [];
    private readonly Dictionary<uint, long> fragmentLengths = [];
    private readonly byte[] fragmentBuffer;
    private readonly List<(Inode Inode, int Offset)> fragmentWaiting = [];
    private int fragmentLength;
    private long position;
    private long copiedBytes;
    private long newFileBytes;
    private int newFiles;
    private int copiedFragmentBlocks;
    private int scrubbedFragmentBlocks;

    private readonly bool sourceDataInPlace;

    private ImageWriter(SourceImage source, SafeFileHandle output, bool sourceDataInPlace)
    {
        this.sourceDataInPlace = sourceDataInPlace;
        this.source = source;
        sourceSuperblock = source.Superblock;
        compressor = source.Compressor;
        this.output = output;
        blockSize = sourceSuperblock.BlockSize;
        fragmentBuffer = new byte[blockSize];
    }

    /// <summary>A block of a host file between reading and writing: its bytes, its compressed bytes and size (0: kept as is; -1: all zeros).</summary>
    private sealed class BlockInFlight(byte[] block, byte[] compressed)
    {
        public byte[] Block { get; } = block;

        public byte[] Compressed { get; } = compressed;

        public int Length { get; set; }

        public int Packed { get; set; }

        public bool InHole { get; set; }
    }

    private sealed record PlacedContent(ulong Start, uint[] BlockSizes, uint FragmentIndex, uint FragmentOffset, ulong Sparse);

    /// <summary>Writes <paramref name="root"/> to <paramref name="outputPath"/> (made anew), using the blocks of <paramref name="source"/>.</summary>
    public static WriteSummary Write(Inode root, SourceImage source, string outputPath, uint modificationTime)
        => WriteTo(FileMode.CreateNew, root, source, outputPath, modificationTime, sourceDataInPlace: false);

    /// <summary>
    /// Writes <paramref name="root"/> over a file that already holds the source's data area at its
    /// own offsets (<see cref="SourceDataCopy"/>, made while the job ran): nothing is relocated or
    /// copied now, and the blocks of files that are gone stay behind as unreferenced bytes.
    /// </summary>
    public static WriteSummary WriteOverSourceData(Inode root, SourceImage source, string outputPath, uint modificationTime)
        => WriteTo(FileMode.Open, root, source, outputPath, modificationTime, sourceDataInPlace: true);

    private static WriteSummary WriteTo(FileMode mode, Inode root, SourceImage source, string outputPath, uint modificationTime, bool sourceDataInPlace)
    {
        var output = File.OpenHandle(outputPath, mode, FileAccess.ReadWrite);
        try
        {
            using (output)
            {
                if (sourceDataInPlace && !HoldsSourceData(output, source))
                {
                    throw new SquashfsFormatException($"{outputPath} is not a copy of this source's data area");
                }
                return new ImageWriter(source, output, sourceDataInPlace).WriteImage(root, modificationTime);
            }
        }
        catch
        {
            // Never half an image where a result is expected.
            File.Delete(outputPath);
            throw;
        }
    }

    /// <summary>Whether a copy is this source's: as long as its data area, and the same superblock and compressor options.</summary>
    private static bool HoldsSourceData(SafeFileHandle copy, SourceImage source)
    {
        var head = Superblock.Size + source.CompressorOptionsBlock.Length;
        if (RandomAccess.GetLength(copy) != (long)source.Superblock.InodeTableStart || RandomAccess.GetLength(copy) < head)
        {
            return false;
        }
        var copied = new byte[head];
        var original = new byte[head];
        MetadataTable.ReadExactly(copy, copied, 0);
        MetadataTable.ReadExactly(source.File, original, 0);
        return copied.AsSpan().SequenceEqual(original);
    }

    private WriteSummary WriteImage(Inode root, uint modificationTime)
    {
        position = Superblock.Size;
        if (source.CompressorOptionsBlock.Length > 0)
        {
            RandomAccess.Write(output, source.CompressorOptionsBlock, position);
            position += source.CompressorOptionsBlock.Length;
        }
        if (root.Kind != EntryKind.Directory)
        {
            throw new ArgumentException("the root of an image is a directory", nameof(root));
        }
        Number(root);
        var rootNumber = numbers[root];
        parents[root] = rootNumber + 1;
        if (sourceDataInPlace)
        {
            PlaceSourceDataWhereItIs();
        }
        else
        {
            CopySourceData();
        }
        WriteNewFiles();
        var (ids, idIndexes) = CollectIds();
        var attributeSets = new AttributeSetWriter(compressor);
        foreach (var inode in order)
        {
            attributeSets.Add(inode.ExtendedAttributes);
        }

        var inodeTable = new MetadataWriter(compressor);
        var directoryTable = new MetadataWriter(compressor);
        var references = new Dictionary<Inode, ulong>(ReferenceEqualityComparer.Instance);
        foreach (var inode in order)
        {
            references[inode] = inodeTable.Reference;
            WriteInode(inode, inodeTable, directoryTable, references, idIndexes, attributeSets);
        }

        var (inodeBytes, _) = inodeTable.Finish();
        var (directoryBytes, _) = directoryTable.Finish();
        var inodeTableStart = position;
        Append(inodeBytes);
        var directoryTableStart = position;
        Append(directoryBytes);

        // With no fragments the table is empty but placed, as mksquashfs places it (unsquashfs 4.4 reads it as the directory table's end).
        var fragmentTableStart = (ulong)position;
        if (fragments.Count > 0)
        {
            var entries = new byte[fragments.Count * 16];
            for (var i = 0; i < fragments.Count; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(entries.AsSpan(i * 16), fragments[i].Start);
                BinaryPrimitives.WriteUInt32LittleEndian(entries.AsSpan(i * 16 + 8), fragments[i].Size);
            }
            fragmentTableStart = WriteLookupTable(entries);
        }
        var exportTableStart = Superblock.NoTable;
        if (sourceSuperblock.Flags.HasFlag(SuperblockFeatures.Exportable))
        {
            var entries = new byte[order.Count * 8];
            foreach (var inode in order)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(entries.AsSpan((int)(numbers[inode] - 1) * 8), references[inode]);
            }
            exportTableStart = WriteLookupTable(entries);
        }
        var idEntries = new byte[ids.Count * 4];
        for (var i = 0; i < ids.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(idEntries.AsSpan(i * 4), ids[i]);
        }
        var idTableStart = WriteLookupTable(idEntries);
        var attributeTableStart = Superblock.NoTable;
        if (attributeSets.Count > 0)
        {
            attributeTableStart = WriteAttributeTable(attributeSets);
        }

        var flags = sourceSuperblock.Flags & ~(SuperblockFeatures.NoXattrs | SuperblockFeatures.Check);
        if (attributeSets.Count == 0)
        {
            flags |= SuperblockFeatures.NoXattrs;
        }
        var superblock = new Superblock
        {
            InodeCount = (uint)order.Count,
            ModificationTime = modificationTime,
            BlockSize = blockSize,
            FragmentCount = (uint)fragments.Count,
            CompressionId = sourceSuperblock.CompressionId,
            BlockLog = sourceSuperblock.BlockLog,
            Flags = flags,
            IdCount = (ushort)ids.Count,
            RootInodeReference = references[root],
            BytesUsed = (ulong)position,
            IdTableStart = idTableStart,
            XattrIdTableStart = attributeTableStart,
            InodeTableStart = (ulong)inodeTableStart,
            DirectoryTableStart = (ulong)directoryTableStart,
            FragmentTableStart = fragmentTableStart,
            ExportTableStart = exportTableStart,
        };
        var superblockBytes = new byte[Superblock.Size];
        superblock.Write(superblockBytes);
        RandomAccess.Write(output, superblockBytes, 0);
        // Padded to 4 KiB, as mksquashfs pads, so that loop devices see whole sectors.
        var padded = (position + 4095) / 4096 * 4096;
        if (padded > position)
        {
            RandomAccess.Write(output, new byte[padded - position], position);
        }
        RandomAccess.SetLength(output, padded);
        var unreferenced = UnreferencedFragmentBytes();
        return new WriteSummary(padded, copiedBytes, newFileBytes, newFiles, copiedFragmentBlocks, unreferenced);
    }

    /// <summary>Numbers inodes in the order they will be written: a directory's children (and their subtrees) first, then the directory.</summary>
    private void Number(Inode directory)
    {
        foreach (var child in directory.Children.Values)
        {
            links[child] = links.GetValueOrDefault(child) + 1;
            if (child.Kind == EntryKind.Directory)
            {
                if (numbers.ContainsKey(child))
                {
                    throw new ArgumentException("a directory appears twice in the tree");
                }
                Number(child);
            }
            else if (!numbers.ContainsKey(child))
            {
                numbers[child] = (uint)order.Count + 1;
                order.Add(child);
            }
        }
        numbers[directory] = (uint)order.Count + 1;
        order.Add(directory);
        foreach (var child in directory.Children.Values.Where(child => child.Kind == EntryKind.Directory))
        {
            parents[child] = numbers[directory];
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        RandomAccess.Write(output, bytes, position);
        position += bytes.Length;
    }

    /// <summary>
    /// The live fragment blocks that still hold bytes of files that are gone (tails deleted or
    /// changed, here or in an earlier generation) as anything but zeros: they are not copied as
    /// they are but decompressed, those bytes zeroed, and compressed again, so that nothing a job
    /// deleted can be read back from the image. Offsets stay, so the live tails keep theirs.
    /// </summary>
    private Dictionary<uint, byte[]> FragmentsToScrub()
    {
        var scrubbed = new Dictionary<uint, byte[]>();
        foreach (var (index, live) in LiveTails())
        {
            var fragment = source.Fragments[(int)index];
            // The bytes the live tails cover, by merging their ranges (duplicates share one).
            long coveredBytes = 0;
            long coveredUpTo = 0;
            foreach (var (offset, tailLength) in live.OrderBy(tail => tail.Offset))
            {
                var end = (long)offset + tailLength;
                coveredBytes += Math.Max(0, end - Math.Max(coveredUpTo, offset));
                coveredUpTo = Math.Max(coveredUpTo, end);
            }
            if (FragmentLength(index) == coveredBytes)
            {
                continue; // Every byte belongs to a live tail.
            }
            var covered = new bool[blockSize];
            foreach (var (offset, tailLength) in live)
            {
                covered.AsSpan((int)offset, (int)tailLength).Fill(true);
            }
            var block = ReadFragmentBlock(fragment, out var decompressedLength);
            var dirty = false;
            for (var i = 0; i < decompressedLength; i++)
            {
                if (!covered[i] && block[i] != 0)
                {
                    block[i] = 0;
                    dirty = true;
                }
            }
            if (dirty)
            {
                scrubbed[index] = block[..decompressedLength];
            }
        }
        return scrubbed;
    }

    private byte[] ReadFragmentBlock(FragmentEntry fragment, out int length)
    {
        var stored = fragment.Size & SourceFileContent.BlockSizeMask;
        var raw = new byte[stored];
        MetadataTable.ReadExactly(source.File, raw, (long)fragment.Start);
        if ((fragment.Size & SourceFileContent.UncompressedBlock) != 0)
        {
            length = raw.Length;
            return [.. raw, .. new byte[Math.Max(0, (int)blockSize - raw.Length)]];
        }
        var block = new byte[blockSize];
        length = compressor.Decompress(raw, block);
        return block;
    }

    /// <summary>Writes a scrubbed fragment block at the end of the data written so far; returns its new index.</summary>
    private uint AppendScrubbedFragment(byte[] block)
    {
        var compressed = new byte[blockSize];
        var packed = compressor.Compress(block, compressed);
        var start = (ulong)position;
        uint size;
        if (packed == 0)
        {
            Append(block);
            size = (uint)block.Length | SourceFileContent.UncompressedBlock;
        }
        else
        {
            Append(compressed.AsSpan(0, packed));
            size = (uint)packed;
        }
        fragments.Add(new FragmentEntry(start, size));
        scrubbedFragmentBlocks++;
        return (uint)(fragments.Count - 1);
    }

    /// <summary>Zeroes a range of the output (a hole where the file system can punch one).</summary>
    private void Zero(ulong start, ulong length)
    {
        if (length > 0 && !LinuxFiles.PunchHole(output, (long)start, (long)length))
        {
            var zeros = new byte[Math.Min(length, 1UL << 20)];
            for (ulong done = 0; done < length; done += (ulong)zeros.Length)
            {
                RandomAccess.Write(output, zeros.AsSpan(0, (int)Math.Min((ulong)zeros.Length, length - done)), (long)(start + done));
            }
        }
    }

    /// <summary>Copies each live block run and fragment block of the source once, in the source's order, joining neighbours into one copy.</summary>
    private void CopySourceData()
    {
        var runs = new SortedDictionary<ulong, ulong>();
        var liveFragments = new SortedSet<uint>();
        foreach (var inode in order)
        {
            if (inode.Content is SourceFileContent content)
            {
                if (content.StoredLength > 0)
                {
                    runs[content.BlocksStart] = Math.Max(runs.GetValueOrDefault(content.BlocksStart), content.StoredLength);
                }
                if (content.FragmentIndex != SourceFileContent.NoFragment)
                {
                    liveFragments.Add(content.FragmentIndex);
                }
            }
        }
        var scrub = FragmentsToScrub();
        liveFragments.ExceptWith(scrub.Keys);
        var pieces = runs.Select(run => (Start: run.Key, Length: run.Value, Fragment: (uint?)null))
            .Concat(liveFragments.Select(index => (Start: source.Fragments[(int)index].Start, Length: (ulong)(source.Fragments[(int)index].Size & SourceFileContent.BlockSizeMask), Fragment: (uint?)index)))
            .OrderBy(piece => piece.Start).ToList();
        var newStarts = new Dictionary<ulong, ulong>();
        var newFragments = new Dictionary<uint, uint>();
        var index = 0;
        while (index < pieces.Count)
        {
            // A stretch of pieces that follow each other in the source is one copy.
            var first = index;
            var end = pieces[index].Start + pieces[index].Length;
            while (index + 1 < pieces.Count && pieces[index + 1].Start == end)
            {
                index++;
                end += pieces[index].Length;
            }
            if (index + 1 < pieces.Count && pieces[index + 1].Start < end)
            {
                throw new SquashfsFormatException("two files' blocks overlap without being the same run (mksquashfs shares only identical runs)");
            }
            var stretchStart = pieces[first].Start;
            if (stretchStart < Superblock.Size || end > sourceSuperblock.InodeTableStart)
            {
                throw new SquashfsFormatException("a data block lies outside the source's data area");
            }
            LinuxFiles.CopyRange(source.File, (long)stretchStart, output, position, (long)(end - stretchStart), copyBuffer);
            for (var piece = first; piece <= index; piece++)
            {
                var newStart = (ulong)position + (pieces[piece].Start - stretchStart);
                if (pieces[piece].Fragment is { } fragment)
                {
                    newFragments[fragment] = (uint)fragments.Count;
                    fragments.Add(new FragmentEntry(newStart, source.Fragments[(int)fragment].Size));
                    copiedFragmentBlocks++;
                }
                else
                {
                    newStarts[pieces[piece].Start] = newStart;
                }
            }
            copiedBytes += (long)(end - stretchStart);
            position += (long)(end - stretchStart);
            index++;
        }
        foreach (var (fragment, block) in scrub)
        {
            newFragments[fragment] = AppendScrubbedFragment(block);
        }
        foreach (var inode in order)
        {
            if (inode.Content is SourceFileContent content)
            {
                placed[inode] = new PlacedContent(content.StoredLength > 0 ? newStarts[content.BlocksStart] : 0, content.BlockSizes,
                    content.FragmentIndex == SourceFileContent.NoFragment ? SourceFileContent.NoFragment : newFragments[content.FragmentIndex],
                    content.FragmentOffset, content.Sparse);
            }
        }
    }

    /// <summary>The source's data area is already in the output at its own offsets: every file and fragment keeps its place.</summary>
    private void PlaceSourceDataWhereItIs()
    {
        position = (long)sourceSuperblock.InodeTableStart;
        // What no file uses any more is zeroed in the copy: nothing a job deleted stays readable in the image.
        var liveRuns = LiveRunStarts();
        foreach (var (start, length) in source.BlockRuns.Where(run => !liveRuns.Contains(run.Key)))
        {
            Zero(start, length);
        }
        var liveFragmentIndexes = order.Select(inode => inode.Content).OfType<SourceFileContent>().Select(content => content.FragmentIndex).ToHashSet();
        for (var index = 0; index < source.Fragments.Count; index++)
        {
            if (!liveFragmentIndexes.Contains((uint)index))
            {
                Zero(source.Fragments[index].Start, source.Fragments[index].Size & SourceFileContent.BlockSizeMask);
            }
        }
        var scrub = FragmentsToScrub();
        var scrubbedIndexes = new Dictionary<uint, uint>();
        foreach (var (index, block) in scrub)
        {
            Zero(source.Fragments[(int)index].Start, source.Fragments[(int)index].Size & SourceFileContent.BlockSizeMask);
            scrubbedIndexes[index] = AppendScrubbedFragment(block);
        }
        // Only the fragment blocks some file uses are listed (unsquashfs refuses more fragments than inodes); the others stay behind, unreferenced.
        var renumbered = new Dictionary<uint, uint>(scrubbedIndexes);
        foreach (var inode in order)
        {
            if (inode.Content is SourceFileContent content)
            {
                var fragment = SourceFileContent.NoFragment;
                if (content.FragmentIndex != SourceFileContent.NoFragment && !renumbered.TryGetValue(content.FragmentIndex, out fragment))
                {
                    fragment = renumbered[content.FragmentIndex] = (uint)fragments.Count;
                    fragments.Add(source.Fragments[(int)content.FragmentIndex]);
                }
                placed[inode] = new PlacedContent(content.StoredLength > 0 ? content.BlocksStart : 0, content.BlockSizes, fragment, content.FragmentOffset, content.Sparse);
            }
        }
        copiedFragmentBlocks = fragments.Count - scrubbedIndexes.Count;
        copiedBytes = (long)sourceSuperblock.InodeTableStart;
    }

    /// <summary>Compresses the host's files: whole blocks in place (zero blocks sparse, incompressible ones as they are), small files' bytes into new fragment blocks.</summary>
    private void WriteNewFiles()
    {
        var batch = Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount * 2)).Select(_ => new BlockInFlight(new byte[blockSize], new byte[blockSize])).ToArray();
        var noFragments = sourceSuperblock.Flags.HasFlag(SuperblockFeatures.NoFragments);
        var tailsToo = sourceSuperblock.Flags.HasFlag(SuperblockFeatures.AlwaysFragments);
        foreach (var inode in order)
        {
            if (inode.Content is not HostFileContent content)
            {
                continue;
            }
            newFiles++;
            using var file = OpenHostFile(content.Path);
            var opened = LinuxFiles.Status(file, content.Path);
            if (opened.Type != FileStatus.Regular || opened.Device != content.Device || opened.InodeNumber != content.InodeNumber || opened.Size != content.Size)
            {
                // Nothing may change the upper directory while it is packed; a file swapped for another (or a link) is not followed.
                throw new SquashfsFormatException($"{content.Path} changed while it was packed");
            }
            var size = content.Size;
            var tail = (uint)(size % blockSize);
            var fragmentTail = !noFragments && tail > 0 && (size < blockSize || tailsToo);
            var blockCount = fragmentTail ? size / blockSize : (size + blockSize - 1) / blockSize;
            var sizes = new uint[blockCount];
            var start = (ulong)position;
            ulong sparse = 0;
            for (ulong first = 0; first < blockCount; first += (ulong)batch.Length)
            {
                // A batch of blocks is read in order, compressed on every core, and written in order.
                var count = (int)Math.Min((ulong)batch.Length, blockCount - first);
                for (var j = 0; j < count; j++)
                {
                    var offset = (long)((first + (ulong)j) * blockSize);
                    batch[j].Length = (int)Math.Min(blockSize, size - (first + (ulong)j) * blockSize);
                    // A hole is not read: a sparse file of terabytes is packed by its data alone.
                    batch[j].InHole = LinuxFiles.IsHole(file, offset, offset + batch[j].Length);
                    if (!batch[j].InHole)
                    {
                        ReadFully(file, batch[j].Block.AsSpan(0, batch[j].Length), offset, content.Path);
                    }
                }
                Parallel.For(0, count, j =>
                {
                    var block = batch[j].Block.AsSpan(0, batch[j].Length);
                    batch[j].Packed = !batch[j].InHole && block.ContainsAnyExcept((byte)0) ? compressor.Compress(block, batch[j].Compressed) : -1;
                });
                for (var j = 0; j < count; j++)
                {
                    var (index, length, packed) = (first + (ulong)j, batch[j].Length, batch[j].Packed);
                    if (packed < 0)
                    {
                        // Stored as a sparse block; counted as sparse, as mksquashfs counts, only where the file has a hole.
                        sizes[index] = 0;
                        if (batch[j].InHole)
                        {
                            sparse += (ulong)length;
                        }
                    }
                    else if (packed == 0)
                    {
                        Append(batch[j].Block.AsSpan(0, length));
                        sizes[index] = (uint)length | SourceFileContent.UncompressedBlock;
                    }
                    else
                    {
                        Append(batch[j].Compressed.AsSpan(0, packed));
                        sizes[index] = (uint)packed;
                    }
                }
            }
            newFileBytes += (long)size;
            var fragmentIndex = SourceFileContent.NoFragment;
            uint fragmentOffset = 0;
            if (fragmentTail)
            {
                if (fragmentLength + tail > blockSize)
                {
                    FlushFragmentBlock();
                }
                ReadFully(file, fragmentBuffer.AsSpan(fragmentLength, (int)tail), (long)(blockCount * blockSize), content.Path);
                fragmentIndex = (uint)fragments.Count;
                fragmentOffset = (uint)fragmentLength;
                fragmentLength += (int)tail;
            }
            placed[inode] = new PlacedContent(sizes.Any(blockSizeOnDisk => blockSizeOnDisk != 0) ? start : 0, sizes, fragmentIndex, fragmentOffset, sparse);
        }
        if (fragmentLength > 0)
        {
            FlushFragmentBlock();
        }
    }

    private static SafeFileHandle OpenHostFile(string path)
    {
        try
        {
            return LinuxFiles.OpenRegularFile(path);
        }
        catch (IOException exception)
        {
            throw new SquashfsFormatException($"{exception.Message} (it changed while it was packed)");
        }
    }

    private static void ReadFully(SafeFileHandle file, Span<byte> buffer, long offset, string path)
    {
        try
        {
            MetadataTable.ReadExactly(file, buffer, offset);
        }
        catch (SquashfsFormatException)
        {
            throw new SquashfsFormatException($"{path} became shorter while it was packed");
        }
    }

    /// <summary>Writes the fragment block being filled; the files waiting on it get its index, which was reserved when they were added.</summary>
    private void FlushFragmentBlock()
    {
        var compressed = new byte[blockSize];
        var packed = compressor.Compress(fragmentBuffer.AsSpan(0, fragmentLength), compressed);
        var start = (ulong)position;
        uint size;
        if (packed == 0)
        {
            Append(fragmentBuffer.AsSpan(0, fragmentLength));
            size = (uint)fragmentLength | SourceFileContent.UncompressedBlock;
        }
        else
        {
            Append(compressed.AsSpan(0, packed));
            size = (uint)packed;
        }
        fragments.Add(new FragmentEntry(start, size));
        fragmentLength = 0;
    }

    /// <summary>
    /// The stored bytes of copied fragment blocks that no file uses any more (the tails of files
    /// that are gone or changed, in this generation or earlier ones): per block, its stored size
    /// times the share of its decompressed length no live tail covers.
    /// </summary>
    private long UnreferencedFragmentBytes()
    {
        var live = LiveTails();
        var liveRuns = LiveRunStarts();
        double unreferenced = 0;
        if (sourceDataInPlace)
        {
            // Everything of the source stays: the runs of files that are gone, and fragment blocks no file uses.
            unreferenced += source.BlockRuns.Where(run => !liveRuns.Contains(run.Key)).Sum(run => (double)run.Value);
            for (var index = 0u; index < source.Fragments.Count; index++)
            {
                live.TryAdd(index, []);
            }
        }
        foreach (var (sourceIndex, tails) in live)
        {
            var stored = source.Fragments[(int)sourceIndex].Size & SourceFileContent.BlockSizeMask;
            var length = FragmentLength(sourceIndex);
            var used = tails.Aggregate(0UL, (total, tail) => total + tail.Length);
            if (length > 0 && (long)used < length)
            {
                unreferenced += stored * (1 - (double)used / length);
            }
        }
        return (long)unreferenced;
    }

    /// <summary>Where the source block runs the files being written keep start.</summary>
    private HashSet<ulong> LiveRunStarts() => order.Select(inode => inode.Content).OfType<SourceFileContent>().Select(content => content.BlocksStart).ToHashSet();

    /// <summary>The distinct tails (offset, length) the files being written keep in each source fragment block.</summary>
    private Dictionary<uint, HashSet<(uint Offset, uint Length)>> LiveTails()
    {
        var live = new Dictionary<uint, HashSet<(uint Offset, uint Length)>>();
        foreach (var inode in order)
        {
            if (inode.Content is SourceFileContent { FragmentIndex: not SourceFileContent.NoFragment } content)
            {
                var tails = live.TryGetValue(content.FragmentIndex, out var known) ? known : live[content.FragmentIndex] = [];
                tails.Add((content.FragmentOffset, (uint)(content.Size % blockSize)));
            }
        }
        return live;
    }

    /// <summary>A source fragment block's length once decompressed: its zstd frame header says, else it is decompressed. Asked for twice per block, read once.</summary>
    private long FragmentLength(uint sourceIndex)
    {
        if (fragmentLengths.TryGetValue(sourceIndex, out var known))
        {
            return known;
        }
        var fragment = source.Fragments[(int)sourceIndex];
        var stored = fragment.Size & SourceFileContent.BlockSizeMask;
        long length;
        if ((fragment.Size & SourceFileContent.UncompressedBlock) != 0)
        {
            length = stored;
        }
        else
        {
            var header = new byte[Math.Min(stored, 32u)];
            MetadataTable.ReadExactly(source.File, header, (long)fragment.Start);
            if (compressor.DecompressedLength(header) is not { } fromHeader)
            {
                ReadFragmentBlock(fragment, out var decompressed);
                fromHeader = decompressed;
            }
            length = fromHeader;
        }
        return fragmentLengths[sourceIndex] = length;
    }

    private (List<uint> Ids, Dictionary<uint, ushort> Indexes) CollectIds()
    {
        var ids = new List<uint>();
        var indexes = new Dictionary<uint, ushort>();
        foreach (var inode in order)
        {
            foreach (var id in new[] { inode.Uid, inode.Gid })
            {
                if (!indexes.ContainsKey(id))
                {
                    if (ids.Count == ushort.MaxValue)
                    {
                        throw new SquashfsFormatException("more than 65535 distinct owners and groups");
                    }
                    indexes[id] = (ushort)ids.Count;
                    ids.Add(id);
                }
            }
        }
        return (ids, indexes);
    }

    private void WriteInode(Inode inode, MetadataWriter inodes, MetadataWriter directories, Dictionary<Inode, ulong> references,
        Dictionary<uint, ushort> idIndexes, AttributeSetWriter attributeSets)
    {
        var attributes = inode.ExtendedAttributes.Count == 0 ? NoAttributes : attributeSets.IndexOf(inode.ExtendedAttributes);
        var linkCount = links.GetValueOrDefault(inode, 1u);
        if (inode.Kind == EntryKind.Directory)
        {
            WriteDirectoryInode(inode, inodes, directories, references, idIndexes, attributes);
            return;
        }
        var extended = attributes != NoAttributes;
        switch (inode.Kind)
        {
            case EntryKind.File:
                var content = placed[inode];
                var size = inode.Content!.Size;
                extended |= linkCount > 1 || content.Start > uint.MaxValue || size > uint.MaxValue || content.Sparse != 0;
                WriteHeader(inode, extended ? (ushort)9 : (ushort)2, inodes, idIndexes);
                if (extended)
                {
                    inodes.WriteUInt64(content.Start);
                    inodes.WriteUInt64(size);
                    inodes.WriteUInt64(content.Sparse);
                    inodes.WriteUInt32(linkCount);
                    inodes.WriteUInt32(content.FragmentIndex);
                    inodes.WriteUInt32(content.FragmentOffset);
                    inodes.WriteUInt32(attributes);
                }
                else
                {
                    inodes.WriteUInt32((uint)content.Start);
                    inodes.WriteUInt32(content.FragmentIndex);
                    inodes.WriteUInt32(content.FragmentOffset);
                    inodes.WriteUInt32((uint)size);
                }
                foreach (var blockSizeOnDisk in content.BlockSizes)
                {
                    inodes.WriteUInt32(blockSizeOnDisk);
                }
                break;
            case EntryKind.Symlink:
                WriteHeader(inode, extended ? (ushort)10 : (ushort)3, inodes, idIndexes);
                inodes.WriteUInt32(linkCount);
                inodes.WriteUInt32((uint)inode.SymlinkTarget.Length);
                inodes.Write(inode.SymlinkTarget);
                if (extended)
                {
                    inodes.WriteUInt32(attributes);
                }
                break;
            case EntryKind.BlockDevice or EntryKind.CharacterDevice:
                WriteHeader(inode, (ushort)((ushort)inode.Kind + (extended ? 7 : 0)), inodes, idIndexes);
                inodes.WriteUInt32(linkCount);
                inodes.WriteUInt32(inode.DeviceNumber);
                if (extended)
                {
                    inodes.WriteUInt32(attributes);
                }
                break;
            default:
                WriteHeader(inode, (ushort)((ushort)inode.Kind + (extended ? 7 : 0)), inodes, idIndexes);
                inodes.WriteUInt32(linkCount);
                if (extended)
                {
                    inodes.WriteUInt32(attributes);
                }
                break;
        }
    }

    private void WriteHeader(Inode inode, ushort type, MetadataWriter inodes, Dictionary<uint, ushort> idIndexes)
    {
        inodes.WriteUInt16(type);
        inodes.WriteUInt16(inode.Permissions);
        inodes.WriteUInt16(idIndexes[inode.Uid]);
        inodes.WriteUInt16(idIndexes[inode.Gid]);
        inodes.WriteUInt32(inode.ModifiedTime);
        inodes.WriteUInt32(numbers[inode]);
    }

    private sealed record DirectoryIndexEntry(uint ListingOffset, uint BlockStart, byte[] Name);

    /// <summary>
    /// Writes the directory's listing, then its inode. A new header starts every 256 entries, when
    /// the entries' inodes move to another metadata block, when an inode number is too far from
    /// the header's, and every 8 KiB of listing, where the directory's index points the kernel's
    /// lookups.
    /// </summary>
    private void WriteDirectoryInode(Inode directory, MetadataWriter inodes, MetadataWriter directories, Dictionary<Inode, ulong> references,
        Dictionary<uint, ushort> idIndexes, uint attributes)
    {
        var listingBlock = directories.BlockStart;
        var listingOffset = directories.Offset;
        var listingStart = directories.UncompressedLength;
        var index = new List<DirectoryIndexEntry>();
        var entries = directory.Children.Select(child => (Name: Inode.NameBytes(child.Key), Inode: child.Value)).ToList();
        // As mksquashfs: a header (and an index entry) is started where the listing has run 8 KiB past the last index point.
        long indexPoint = 0;
        var at = 0;
        while (at < entries.Count)
        {
            var headerBlock = (uint)(references[entries[at].Inode] >> 16);
            var baseNumber = numbers[entries[at].Inode];
            var headerPosition = directories.UncompressedLength - listingStart;
            if (at > 0 && headerPosition + 8 + entries[at].Name.Length - indexPoint > MetadataTable.BlockSize)
            {
                index.Add(new DirectoryIndexEntry((uint)headerPosition, (uint)directories.BlockStart, entries[at].Name));
                indexPoint = headerPosition;
            }
            var count = 0;
            var entryPosition = headerPosition + 12;
            while (at + count < entries.Count && count < 256)
            {
                var candidate = entries[at + count].Inode;
                var difference = (long)numbers[candidate] - baseNumber;
                var nameLength = entries[at + count].Name.Length;
                if ((uint)(references[candidate] >> 16) != headerBlock || difference is < short.MinValue or > short.MaxValue
                    || (count > 0 && entryPosition + 8 + nameLength - indexPoint > MetadataTable.BlockSize))
                {
                    break;
                }
                entryPosition += 8 + nameLength;
                count++;
            }
            directories.WriteUInt32((uint)(count - 1));
            directories.WriteUInt32(headerBlock);
            directories.WriteUInt32(baseNumber);
            foreach (var (name, child) in entries.Skip(at).Take(count))
            {
                directories.WriteUInt16((ushort)(references[child] & 0xFFFF));
                directories.WriteUInt16((ushort)(short)((long)numbers[child] - baseNumber));
                directories.WriteUInt16((ushort)child.Kind);
                directories.WriteUInt16((ushort)(name.Length - 1));
                directories.Write(name);
            }
            at += count;
        }
        var listingSize = directories.UncompressedLength - listingStart;
        var fileSize = listingSize + 3;
        var subdirectories = (uint)directory.Children.Values.Count(child => child.Kind == EntryKind.Directory);
        // mksquashfs's rule, so that sqfsdiff sees the same inode types: large listings get the extended form.
        var entryBytes = entries.Sum(entry => 8L + entry.Name.Length);
        var extended = attributes != NoAttributes || index.Count > 0 || fileSize > ushort.MaxValue || entries.Count > 256 || entryBytes >= MetadataTable.BlockSize;
        WriteHeader(directory, extended ? (ushort)8 : (ushort)1, inodes, idIndexes);
        if (extended)
        {
            inodes.WriteUInt32(2 + subdirectories);
            inodes.WriteUInt32((uint)fileSize);
            inodes.WriteUInt32((uint)listingBlock);
            inodes.WriteUInt32(parents[directory]);
            inodes.WriteUInt16((ushort)index.Count);
            inodes.WriteUInt16((ushort)listingOffset);
            inodes.WriteUInt32(attributes);
            foreach (var entry in index)
            {
                inodes.WriteUInt32(entry.ListingOffset);
                inodes.WriteUInt32(entry.BlockStart);
                inodes.WriteUInt32((uint)(entry.Name.Length - 1));
                inodes.Write(entry.Name);
            }
        }
        else
        {
            inodes.WriteUInt32((uint)listingBlock);
            inodes.WriteUInt32(2 + subdirectories);
            inodes.WriteUInt16((ushort)fileSize);
            inodes.WriteUInt16((ushort)listingOffset);
            inodes.WriteUInt32(parents[directory]);
        }
    }

    /// <summary>Writes a lookup table's metadata blocks, then the list of their positions; returns where that list starts.</summary>
    private ulong WriteLookupTable(byte[] entries)
    {
        var table = new MetadataWriter(compressor);
        table.Write(entries);
        var (bytes, blockStarts) = table.Finish();
        var tableStart = position;
        Append(bytes);
        var indexStart = (ulong)position;
        var index = new byte[blockStarts.Count * 8];
        for (var i = 0; i < blockStarts.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(index.AsSpan(i * 8), (ulong)(tableStart + blockStarts[i]));
        }
        Append(index);
        return indexStart;
    }

    private ulong WriteAttributeTable(AttributeSetWriter attributeSets)
    {
        var (keyValues, idEntries) = attributeSets.Finish();
        var keyValueStart = (ulong)position;
        Append(keyValues);
        var table = new MetadataWriter(compressor);
        table.Write(idEntries);
        var (bytes, blockStarts) = table.Finish();
        var tableStart = position;
        Append(bytes);
        var headerStart = (ulong)position;
        var header = new byte[16 + blockStarts.Count * 8];
        BinaryPrimitives.WriteUInt64LittleEndian(header, keyValueStart);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)attributeSets.Count);
        for (var i = 0; i < blockStarts.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(16 + i * 8), (ulong)(tableStart + blockStarts[i]));
        }
        Append(header);
        return headerStart;
    }
}
