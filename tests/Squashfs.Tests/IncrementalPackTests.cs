namespace Cray.Squashfs.Tests;

/// <summary>
/// The incremental packer against mksquashfs of the same merged view: every kind of change an
/// overlay records, with and without the overlay's index, compared by unsquashfs, sqfsdiff and a
/// kernel mount of both.
/// </summary>
public sealed class IncrementalPackTests : IDisposable
{
    private readonly string workspace = Directory.CreateTempSubdirectory("squashfs-incremental-").FullName;

    public void Dispose() => Directory.Delete(workspace, recursive: true);

    private async Task<string> SourceAsync()
    {
        var tree = Path.Combine(workspace, "tree");
        await ImageCorpus.BuildAsync(tree);
        var source = Path.Combine(workspace, "source.squashfs");
        await ImageCorpus.PackAsync(tree, source);
        return source;
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task EveryKindOfChangePacksAsMksquashfsPacksTheMergedView(bool indexed, bool sourceDataCopiedWhileTheJobRan)
    {
        var source = await SourceAsync();
        string? sourceData = null;
        if (sourceDataCopiedWhileTheJobRan)
        {
            sourceData = Path.Combine(workspace, "source-data");
            SourceDataCopy.Copy(source, sourceData, CancellationToken.None);
        }
        string reference;
        IncrementalPackResult result;
        var incremental = Path.Combine(workspace, "incremental.squashfs");
        await using (var overlay = await OverlayScenario.MountAsync(Path.Combine(workspace, "overlay"), source, indexed))
        {
            // Contents: an append (copy-up), a rewrite with the same bytes, new files of every shape.
            await File.AppendAllTextAsync(overlay.InMerged("one-block"), "appended\n");
            await File.WriteAllBytesAsync(overlay.InMerged("small-duplicate-a"), await File.ReadAllBytesAsync(overlay.InMerged("small-duplicate-a")));
            ImageCorpus.WriteText(overlay.InMerged("new-large"), 3 * ImageCorpus.BlockSize + 999, seed: 20);
            ImageCorpus.WriteText(overlay.InMerged("new-small"), 777, seed: 21);
            ImageCorpus.WriteText(overlay.InMerged("new-exact"), ImageCorpus.BlockSize, seed: 22);
            ImageCorpus.WriteRandom(overlay.InMerged("new-incompressible"), ImageCorpus.BlockSize + 10, seed: 23);
            File.WriteAllBytes(overlay.InMerged("new-zeros"), new byte[ImageCorpus.BlockSize * 2 + 5]);
            File.WriteAllBytes(overlay.InMerged("new-empty"), []);
            using (var hole = new FileStream(overlay.InMerged("new-hole"), FileMode.Create))
            {
                hole.Write(new byte[] { 1, 2, 3 });
                hole.Seek(3 * ImageCorpus.BlockSize, SeekOrigin.Begin);
                hole.Write(new byte[] { 4, 5, 6 });
            }
            File.Copy(overlay.InMerged("new-large"), overlay.InMerged("new-large-copy"));
            // Metadata only: mode, owner, time.
            await overlay.RunAsync("chmod", "0600", "small.txt");
            await overlay.RunAsync("chown", "4321:8765", "three-and-a-half");
            await overlay.RunAsync("touch", "-d", "2019-05-06 07:08:09", "usr/share");
            // Deletions: a file, a directory of 300 entries; a rename.
            await overlay.RunAsync("rm", "small-duplicate-b");
            await overlay.RunAsync("rm", "-r", "usr/share/many");
            await overlay.RunAsync("mv", "two-blocks-exactly", "renamed-two-blocks");
            // Replaced directory (opaque), type changes both ways.
            await overlay.RunAsync("rm", "-r", "etc");
            Directory.CreateDirectory(overlay.InMerged("etc"));
            ImageCorpus.WriteText(overlay.InMerged("etc/hostname"), 10, seed: 24);
            await overlay.RunAsync("rm", "sparse");
            Directory.CreateDirectory(overlay.InMerged("sparse"));
            await overlay.RunAsync("rm", "-r", "empty-directory");
            File.CreateSymbolicLink(overlay.InMerged("empty-directory"), "etc");
            // Hard links: a new pair, and a lower pair broken (or kept, with the index) by copy-up.
            await overlay.RunAsync("ln", "new-small", "new-small-link");
            await File.AppendAllTextAsync(overlay.InMerged("linked-1"), "changed through one name\n");
            // Attributes, capabilities, devices, a FIFO, a long new directory.
            await overlay.RunAsync("setfattr", "-x", "user.comment", "small.txt");
            await overlay.RunAsync("setfattr", "-n", "user.added", "-v", "yes", "new-small");
            await overlay.RunAsync("setcap", "cap_sys_admin+ep", "new-large");
            await overlay.RunAsync("mknod", "dev/zero", "c", "1", "5");
            await overlay.RunAsync("mkfifo", "new-fifo");
            var many = Directory.CreateDirectory(overlay.InMerged("var/lib/many-new")).FullName;
            for (var i = 0; i < 400; i++)
            {
                await File.WriteAllTextAsync(Path.Combine(many, $"a-new-entry-with-a-long-name-{i:D4}"), $"{i}\n");
            }
            reference = await overlay.PackReferenceAsync();
            result = IncrementalPacker.Pack(source, overlay.Upper, overlay.IndexDirectory, incremental, modificationTime: 0, sourceData: sourceData);
            Assert.True(PackVerifier.Verify(incremental, overlay.Merged, overlay.Upper) > 400);
            // The check before registering catches a result that is not the merged view.
            await overlay.RunAsync("chmod", "0700", "new-small");
            var caught = Assert.Throws<SquashfsFormatException>(() => PackVerifier.Verify(incremental, overlay.Merged, overlay.Upper));
            Assert.Contains("/new-small differs between the packed image and the merged view: mode 644 against 700", caught.Message);
            await overlay.RunAsync("chmod", "0644", "new-small");
            var etcTime = Directory.GetLastWriteTimeUtc(overlay.InMerged("etc"));
            await File.WriteAllTextAsync(overlay.InMerged("etc/added-after"), "late\n");
            Directory.SetLastWriteTimeUtc(overlay.InMerged("etc"), etcTime);
            caught = Assert.Throws<SquashfsFormatException>(() => PackVerifier.Verify(incremental, overlay.Merged, overlay.Upper));
            Assert.Contains("/etc lists other names in the packed image than in the merged view: +added-after", caught.Message);
            File.Delete(overlay.InMerged("etc/added-after"));
        }

        Assert.True(result.Written.NewFiles >= 9, $"{result.Written.NewFiles} new files");
        Assert.True(result.Written.CopiedBytes > 0);
        // The 300 small files deleted leave their tails in fragment blocks other files still use.
        Assert.True(result.Written.UnreferencedFragmentBytes > 0);
        await RoundTripTests.AssertSameImageAsync(reference, incremental);
    }

    [Theory]
    [InlineData("trusted.overlay.redirect", "/elsewhere")]
    [InlineData("trusted.overlay.metacopy", "")]
    [InlineData("trusted.overlay.opaque", "x")]
    public async Task AnOverlayFeatureThePackerDoesNotReadIsRefusedAndLeavesNothing(string attribute, string value)
    {
        var source = await SourceAsync();
        var upper = Directory.CreateDirectory(Path.Combine(workspace, "upper", "etc")).FullName;
        await ImageCorpus.RunAsync("setfattr", "-n", attribute, "-v", value.Length == 0 ? "0x00" : value, upper);
        var output = Path.Combine(workspace, "refused.squashfs");
        var refusal = Assert.Throws<SquashfsFormatException>(() => IncrementalPacker.Pack(source, Path.GetDirectoryName(upper)!, indexDirectory: null, output, 0));
        Assert.Contains(upper, refusal.Message);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task AnUpperNameThatIsNotUtf8IsRefusedAndLeavesNothing()
    {
        var source = await SourceAsync();
        var upper = Directory.CreateDirectory(Path.Combine(workspace, "upper")).FullName;
        await ImageCorpus.RunAsync("python3", "-c", "import sys; open(sys.argv[1].encode() + b'/name-\\xff', 'w').write('x')", upper);
        var output = Path.Combine(workspace, "refused.squashfs");
        var refusal = Assert.Throws<SquashfsFormatException>(() => IncrementalPacker.Pack(source, upper, indexDirectory: null, output, 0));
        Assert.Contains("a name that is not UTF-8", refusal.Message);
        Assert.False(File.Exists(output));
        await ImageCorpus.RunAsync("rm", "-r", upper); // .NET cannot name that file to delete it.
    }

    [Fact]
    public async Task AnImageOfAnotherCompressorIsRefusedAndGzipIsPacked()
    {
        var tree = Path.Combine(workspace, "tree");
        await ImageCorpus.BuildAsync(tree);
        var upper = Directory.CreateDirectory(Path.Combine(workspace, "upper")).FullName;
        ImageCorpus.WriteText(Path.Combine(upper, "added"), 5000, seed: 30);

        var xz = Path.Combine(workspace, "xz.squashfs");
        await ImageCorpus.RunAsync("mksquashfs", tree, xz, "-noappend", "-quiet", "-no-progress", "-comp", "xz");
        var refusal = Assert.Throws<SquashfsFormatException>(() => IncrementalPacker.Pack(xz, upper, indexDirectory: null, Path.Combine(workspace, "from-xz.squashfs"), 0));
        Assert.Contains("compressor id 4 is not zstd or gzip", refusal.Message);

        var gzip = Path.Combine(workspace, "gzip.squashfs");
        await ImageCorpus.RunAsync("mksquashfs", tree, gzip, "-noappend", "-quiet", "-no-progress", "-comp", "gzip");
        var packed = Path.Combine(workspace, "from-gzip.squashfs");
        IncrementalPacker.Pack(gzip, upper, indexDirectory: null, packed, 0);
        await using var mounted = await MountedImage.MountAsync(packed);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(upper, "added")), await File.ReadAllTextAsync(Path.Combine(mounted.Directory, "added")));
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(tree, "one-block")), await File.ReadAllTextAsync(Path.Combine(mounted.Directory, "one-block")));
    }

    [Fact]
    public async Task FiveGenerationsEachPackAsMksquashfsAndTheUnreferencedShareCrossesTheCompactionThreshold()
    {
        var tree = Path.Combine(workspace, "tree");
        Directory.CreateDirectory(tree);
        var small = Directory.CreateDirectory(Path.Combine(tree, "small")).FullName;
        for (var i = 0; i < 400; i++)
        {
            ImageCorpus.WriteRandom(Path.Combine(small, $"file-{i:D3}"), 3000 + i, seed: i);
        }
        ImageCorpus.WriteText(Path.Combine(tree, "large"), 5 * ImageCorpus.BlockSize, seed: 1000);
        var source = Path.Combine(workspace, "generation-0.squashfs");
        await ImageCorpus.PackAsync(tree, source);
        var shares = new List<double>();
        for (var generation = 1; generation <= 5; generation++)
        {
            string reference;
            var next = Path.Combine(workspace, $"generation-{generation}.squashfs");
            await using (var overlay = await OverlayScenario.MountAsync(Path.Combine(workspace, $"overlay-{generation}"), source, indexed: generation % 2 == 0))
            {
                // Each generation deletes 60 small files, rewrites one, adds some and appends to the large one.
                foreach (var file in Directory.GetFiles(overlay.InMerged("small")).Order(StringComparer.Ordinal).Take(60))
                {
                    File.Delete(file);
                }
                ImageCorpus.WriteRandom(Directory.GetFiles(overlay.InMerged("small")).Order(StringComparer.Ordinal).First(), 2500, seed: 5000 + generation);
                for (var i = 0; i < 10; i++)
                {
                    ImageCorpus.WriteRandom(overlay.InMerged($"small/generation-{generation}-{i}"), 1000 + i, seed: 6000 + (generation * 10) + i);
                }
                await File.AppendAllTextAsync(overlay.InMerged("large"), $"generation {generation}\n");
                reference = await overlay.PackReferenceAsync();
                var result = IncrementalPacker.Pack(source, overlay.Upper, overlay.IndexDirectory, next, modificationTime: 0);
                PackVerifier.Verify(next, overlay.Merged, overlay.Upper);
                shares.Add((double)result.Written.UnreferencedFragmentBytes / result.Written.ImageBytes);
            }
            await RoundTripTests.AssertSameImageAsync(reference, next);
            source = next;
        }
        // Dead tails pile up over generations (a fragment block whose tails are all gone is dropped) until a full pack is due.
        Assert.True(shares[0] < 0.10 && shares.Max() > 0.10, string.Join(", ", shares));
    }

    [Theory]
    [InlineData("fifo")]
    [InlineData("symlink")]
    public async Task AnUpperFileSwappedWhileItIsPackedIsRefusedNotFollowed(string replacement)
    {
        var source = await SourceAsync();
        var upper = Directory.CreateDirectory(Path.Combine(workspace, "upper")).FullName;
        var file = Path.Combine(upper, "added");
        ImageCorpus.WriteText(file, 5000, seed: 40);
        using var image = SourceImage.Open(source);
        OverlayUpper.Apply(image, upper, indexDirectory: null);
        File.Delete(file);
        if (replacement == "fifo")
        {
            await ImageCorpus.RunAsync("mkfifo", file);
        }
        else
        {
            File.CreateSymbolicLink(file, "/etc/shadow");
        }
        var output = Path.Combine(workspace, "swapped.squashfs");
        var refusal = await Assert.ThrowsAsync<SquashfsFormatException>(
            () => Task.Run(() => ImageWriter.Write(image.Root, image, output, 0)).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(file, refusal.Message);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task ALowerHardLinkServedOnlyThroughTheIndexTakesTheIndexedFile()
    {
        var source = await SourceAsync();
        string reference;
        var incremental = Path.Combine(workspace, "incremental.squashfs");
        await using (var overlay = await OverlayScenario.MountAsync(Path.Combine(workspace, "overlay"), source, indexed: true))
        {
            // Copied up through one name, which is then removed: the other lower name shows the new bytes through the index alone.
            await File.AppendAllTextAsync(overlay.InMerged("linked-1"), "changed\n");
            File.Delete(overlay.InMerged("linked-1"));
            Assert.EndsWith("changed\n", await File.ReadAllTextAsync(overlay.InMerged("linked-2")));
            // And one name of a pair unlinked without a change: the kernel copies the inode into the index to count its links.
            File.Delete(overlay.InMerged("etc/small-linked-2"));
            reference = await overlay.PackReferenceAsync();
            IncrementalPacker.Pack(source, overlay.Upper, overlay.IndexDirectory, incremental, 0);
            PackVerifier.Verify(incremental, overlay.Merged, overlay.Upper);
        }
        await RoundTripTests.AssertSameImageAsync(reference, incremental);
    }

    [Fact]
    public async Task AnExtendedAttributeNameThatIsNotAsciiIsRefused()
    {
        var source = await SourceAsync();
        var upper = Directory.CreateDirectory(Path.Combine(workspace, "upper")).FullName;
        var file = Path.Combine(upper, "added");
        await File.WriteAllTextAsync(file, "x");
        await ImageCorpus.RunAsync("python3", "-c", "import os, sys; os.setxattr(sys.argv[1], b'user.\\xff', b'v')", file);
        var refusal = Assert.Throws<SquashfsFormatException>(() => IncrementalPacker.Pack(source, upper, indexDirectory: null, Path.Combine(workspace, "refused.squashfs"), 0));
        Assert.Contains("an extended attribute's name is not ASCII", refusal.Message);
    }

    [Fact]
    public async Task ATreeMostlyDeletedOverACopyOfTheSourceDataListsOnlyLiveFragments()
    {
        var source = await SourceAsync();
        var sourceData = Path.Combine(workspace, "source-data");
        SourceDataCopy.Copy(source, sourceData, CancellationToken.None);
        string reference;
        var incremental = Path.Combine(workspace, "incremental.squashfs");
        await using (var overlay = await OverlayScenario.MountAsync(Path.Combine(workspace, "overlay"), source, indexed: false))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(overlay.Merged).Where(entry => Path.GetFileName(entry) != "small.txt"))
            {
                await overlay.RunAsync("rm", "-r", Path.GetFileName(entry));
            }
            reference = await overlay.PackReferenceAsync();
            var result = IncrementalPacker.Pack(source, overlay.Upper, null, incremental, 0, sourceData: sourceData);
            Assert.True(result.Written.UnreferencedFragmentBytes > 0);
        }
        using (var image = SourceImage.Open(incremental))
        {
            Assert.True(image.Superblock.FragmentCount <= image.Superblock.InodeCount, $"{image.Superblock.FragmentCount} fragments, {image.Superblock.InodeCount} inodes");
        }
        await RoundTripTests.AssertSameImageAsync(reference, incremental);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WhatAJobDeletedCannotBeReadBackFromThePackedImage(bool sourceDataCopiedWhileTheJobRan)
    {
        var tree = Directory.CreateDirectory(Path.Combine(workspace, "tree")).FullName;
        ImageCorpus.WriteText(Path.Combine(tree, "keep.txt"), 2000, seed: 50);
        ImageCorpus.WriteRandom(Path.Combine(tree, "secret-small"), 3000, seed: 51);
        ImageCorpus.WriteRandom(Path.Combine(tree, "secret-large"), 3 * ImageCorpus.BlockSize, seed: 52);
        ImageCorpus.WriteText(Path.Combine(tree, "keep-after.txt"), 1500, seed: 53);
        var markers = new[] { "secret-small", "secret-large" }.Select(name => File.ReadAllBytes(Path.Combine(tree, name))[100..164]).ToList();
        var source = Path.Combine(workspace, "source.squashfs");
        await ImageCorpus.PackAsync(tree, source);
        var sourceBytes = await File.ReadAllBytesAsync(source);
        Assert.All(markers, marker => Assert.True(sourceBytes.AsSpan().IndexOf(marker) >= 0, "the secrets are stored as they are (incompressible)"));
        string? sourceData = null;
        if (sourceDataCopiedWhileTheJobRan)
        {
            sourceData = Path.Combine(workspace, "source-data");
            SourceDataCopy.Copy(source, sourceData, CancellationToken.None);
        }
        string reference;
        var incremental = Path.Combine(workspace, "incremental.squashfs");
        await using (var overlay = await OverlayScenario.MountAsync(Path.Combine(workspace, "overlay"), source, indexed: false))
        {
            File.Delete(overlay.InMerged("secret-small"));
            File.Delete(overlay.InMerged("secret-large"));
            ImageCorpus.WriteText(overlay.InMerged("added.txt"), 700, seed: 54);
            reference = await overlay.PackReferenceAsync();
            IncrementalPacker.Pack(source, overlay.Upper, null, incremental, 0, sourceData: sourceData);
        }
        var packedBytes = await File.ReadAllBytesAsync(incremental);
        Assert.All(markers, marker => Assert.True(packedBytes.AsSpan().IndexOf(marker) < 0, "a deleted file's bytes are in the packed image"));
        await RoundTripTests.AssertSameImageAsync(reference, incremental);
    }

    [Fact]
    public async Task AHugeSparseFileIsPackedByItsDataAlone()
    {
        var source = await SourceAsync();
        var upper = Directory.CreateDirectory(Path.Combine(workspace, "upper")).FullName;
        var sparse = Path.Combine(upper, "sparse-16g");
        using (var file = new FileStream(sparse, FileMode.Create))
        {
            file.SetLength(16L << 30);
            file.Seek(-3, SeekOrigin.End);
            file.Write("end"u8);
        }
        var output = Path.Combine(workspace, "sparse.squashfs");
        var result = IncrementalPacker.Pack(source, upper, indexDirectory: null, output, 0);
        Assert.True(new FileInfo(output).Length < new FileInfo(source).Length + (8L << 20), "the holes take no space");
        Assert.Equal(1, result.Written.NewFiles);
        await using var mounted = await MountedImage.MountAsync(output);
        var packed = Path.Combine(mounted.Directory, "sparse-16g");
        Assert.Equal(16L << 30, new FileInfo(packed).Length);
        using var reader = File.OpenRead(packed);
        reader.Seek(-3, SeekOrigin.End);
        var tail = new byte[3];
        reader.ReadExactly(tail);
        Assert.Equal("end"u8.ToArray(), tail);
    }

    [Fact]
    public async Task LayersStackedOnTheImagePackAsMksquashfsPacksTheTopMergedView()
    {
        var source = await SourceAsync();
        var first = Path.Combine(workspace, "layer-1");
        await using (var layer = await OverlayScenario.MountAsync(first, source, indexed: false))
        {
            ImageCorpus.WriteText(layer.InMerged("added-by-1"), 5000, seed: 60);
            Directory.CreateDirectory(layer.InMerged("directory-of-1"));
            ImageCorpus.WriteText(layer.InMerged("directory-of-1/inside"), 100, seed: 61);
            await File.AppendAllTextAsync(layer.InMerged("one-block"), "layer 1\n");
            File.Delete(layer.InMerged("small-duplicate-b"));
        }
        // The second layer's overlay has the first layer's upper directory and the image below it.
        var second = Path.Combine(workspace, "layer-2");
        var (lower, upper, work, merged) = (Path.Combine(second, "lower"), Path.Combine(second, "upper"), Path.Combine(second, "work"), Path.Combine(second, "merged"));
        foreach (var directory in new[] { lower, upper, work, merged })
        {
            Directory.CreateDirectory(directory);
        }
        await ImageCorpus.RunAsync("mount", "-t", "squashfs", "-o", "ro,loop", source, lower);
        string reference;
        var incremental = Path.Combine(workspace, "incremental.squashfs");
        try
        {
            await ImageCorpus.RunAsync("mount", "-t", "overlay", "overlay", "-o",
                $"lowerdir={Path.Combine(first, "upper")}:{lower},upperdir={upper},workdir={work},redirect_dir=off,metacopy=off,index=off", merged);
            try
            {
                await File.AppendAllTextAsync(Path.Combine(merged, "added-by-1"), "layer 2\n");
                await File.AppendAllTextAsync(Path.Combine(merged, "one-block"), "layer 2\n");
                await ImageCorpus.RunAsync("rm", "-r", Path.Combine(merged, "directory-of-1"));
                Directory.CreateDirectory(Path.Combine(merged, "directory-of-1"));
                File.Delete(Path.Combine(merged, "small.txt"));
                ImageCorpus.WriteText(Path.Combine(merged, "added-by-2"), 300, seed: 62);
                reference = Path.Combine(workspace, "reference.squashfs");
                await ImageCorpus.PackAsync(merged, reference);
                IncrementalPacker.Pack(source, [new OverlayLayer(Path.Combine(first, "upper")), new OverlayLayer(upper)], incremental, 0);
                PackVerifier.Verify(incremental, merged, Path.Combine(first, "upper"));
                PackVerifier.Verify(incremental, merged, upper);
            }
            finally
            {
                await ImageCorpus.UnmountAsync(merged);
            }
        }
        finally
        {
            await ImageCorpus.UnmountAsync(lower);
        }
        await RoundTripTests.AssertSameImageAsync(reference, incremental);
    }

    [Fact]
    public async Task AHigherLayerThatRanWithTheIndexIsRefused()
    {
        var source = await SourceAsync();
        var lowerUpper = Directory.CreateDirectory(Path.Combine(workspace, "upper-1")).FullName;
        var higherUpper = Directory.CreateDirectory(Path.Combine(workspace, "upper-2")).FullName;
        var index = Directory.CreateDirectory(Path.Combine(workspace, "work-2", "index")).FullName;
        await File.WriteAllTextAsync(Path.Combine(index, "entry"), "x");
        var output = Path.Combine(workspace, "refused.squashfs");
        var refusal = Assert.Throws<SquashfsFormatException>(
            () => IncrementalPacker.Pack(source, [new OverlayLayer(lowerUpper), new OverlayLayer(higherUpper, index)], output, 0));
        Assert.Contains("layer 2 ran with the overlay's index", refusal.Message);
        Assert.False(File.Exists(output));
    }
}
