namespace Cray.Squashfs;

/// <summary>
/// Copies a source image's data area (all of it before the inode table) to a new file, at the same
/// offsets, while a job still runs; the incremental packer then writes only what changed and the
/// tables after it. On a file system with reflinks the copy shares extents and costs nothing.
/// </summary>
public static class SourceDataCopy
{
    private const long Chunk = 64L << 20;

    /// <param name="compressor">When given, the copy is not made for a source of another compressor (the packer would decline it).</param>
    public static void Copy(string sourceImage, string target, CancellationToken cancellationToken, string? compressor = null)
    {
        using var source = File.OpenHandle(sourceImage, FileMode.Open, FileAccess.Read);
        var header = new byte[Superblock.Size];
        MetadataTable.ReadExactly(source, header, 0);
        var superblock = Superblock.Read(header);
        var kind = superblock.CompressionId switch { BlockCompressor.ZstdId => "zstd", BlockCompressor.GzipId => "gzip", _ => null };
        if (compressor is not null && kind != compressor)
        {
            throw new SquashfsFormatException($"the source image is compressed with {kind ?? $"compressor {superblock.CompressionId}"}, and results are packed with {compressor}");
        }
        var end = (long)superblock.InodeTableStart;
        if (end > RandomAccess.GetLength(source))
        {
            throw new SquashfsFormatException("the source's inode table starts past its end");
        }
        using var output = File.OpenHandle(target, FileMode.CreateNew, FileAccess.Write);
        var buffer = new byte[1 << 20];
        try
        {
            for (long offset = 0; offset < end; offset += Chunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                LinuxFiles.CopyRange(source, offset, output, offset, Math.Min(Chunk, end - offset), buffer);
            }
        }
        catch
        {
            output.Dispose();
            File.Delete(target);
            throw;
        }
    }
}
