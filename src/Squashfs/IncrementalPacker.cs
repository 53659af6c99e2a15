using System.Diagnostics;

namespace Cray.Squashfs;

/// <summary>One overlay layer's changes: its upper directory, and its <c>workdir/index</c> when it ran with <c>index=on</c>.</summary>
public sealed record OverlayLayer(string UpperDirectory, string? IndexDirectory = null);

/// <summary>What an incremental pack did, for the job's log and the image's metadata.</summary>
public sealed record IncrementalPackResult(WriteSummary Written, int UpperEntries, TimeSpan Elapsed, string Compressor);

/// <summary>
/// Packs the merged view of an overlay (a squashfs image below, an upper directory of changes
/// above) without the overlay: what did not change is copied from the image as it is stored, what
/// changed is compressed anew, and the tables are rebuilt. A <see cref="SquashfsFormatException"/>
/// means the packer declines (an image or overlay feature it does not handle): pack the merged
/// view with mksquashfs instead. Nothing is left at the output path on failure.
/// </summary>
public static class IncrementalPacker
{
    /// <param name="compressor">The compressor results must have (mksquashfs's name); the packer declines a source of another.</param>
    /// <param name="sourceData">A copy of the source's data area made by <see cref="SourceDataCopy"/>: it becomes the output, and nothing is copied now.</param>
    /// <param name="indexDirectory">The overlay's <c>workdir/index</c> when it ran with <c>index=on</c>; null otherwise.</param>
    public static IncrementalPackResult Pack(string sourceImage, string upperDirectory, string? indexDirectory, string output, uint modificationTime, string? compressor = null,
        string? sourceData = null)
        => Pack(sourceImage, [new OverlayLayer(upperDirectory, indexDirectory)], output, modificationTime, compressor, sourceData);

    /// <summary>
    /// Packs layers stacked on the image (each overlay's lower directories are the layers below it
    /// and the image), lowest first. Only the lowest may have run with the overlay's index: a higher
    /// layer's copy-ups name files of the layer below, not of the image, so an index there declines.
    /// </summary>
    public static IncrementalPackResult Pack(string sourceImage, IReadOnlyList<OverlayLayer> layers, string output, uint modificationTime, string? compressor = null,
        string? sourceData = null)
    {
        var stopwatch = Stopwatch.StartNew();
        if (File.Exists(output))
        {
            throw new IOException($"{output} exists; the packer writes a new file");
        }
        if (sourceData is not null)
        {
            File.Move(sourceData, output);
        }
        try
        {
            using var source = SourceImage.Open(sourceImage);
            if (compressor is not null && source.Compressor.Kind != compressor)
            {
                throw new SquashfsFormatException($"the source image is compressed with {source.Compressor.Kind}, and results are packed with {compressor}");
            }
            var changedEntries = 0;
            for (var layer = 0; layer < layers.Count; layer++)
            {
                var index = layers[layer].IndexDirectory;
                if (layer > 0 && index is not null && Directory.Exists(index) && Directory.EnumerateFileSystemEntries(index).Any())
                {
                    throw new SquashfsFormatException($"layer {layer + 1} ran with the overlay's index over other layers ({index}), which the packer does not read");
                }
                changedEntries += OverlayUpper.Apply(source, layers[layer].UpperDirectory, layer == 0 ? index : null).ChangedEntries;
            }
            var written = sourceData is null
                ? ImageWriter.Write(source.Root, source, output, modificationTime)
                : ImageWriter.WriteOverSourceData(source.Root, source, output, modificationTime);
            return new IncrementalPackResult(written, changedEntries, stopwatch.Elapsed, source.Compressor.Name);
        }
        catch (Exception exception) when (exception is OverflowException or ArgumentException or IndexOutOfRangeException or InvalidOperationException)
        {
            // A crafted source can reach checks this code makes through the runtime's own: still a refusal, not a failure.
            File.Delete(output);
            throw new SquashfsFormatException($"the source image does not read as squashfs: {exception.Message}");
        }
        catch
        {
            File.Delete(output);
            throw;
        }
    }
}
