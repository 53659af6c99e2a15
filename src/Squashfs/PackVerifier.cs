namespace Cray.Squashfs;

/// <summary>
/// A cheap check of an incremental result before it is registered: the image reads back whole
/// (every table and the tree), and every path the upper directory changed, with its parents,
/// is in the result as the merged view shows it (type, mode, owner, time, size, link target,
/// device). What did not change was copied as it was stored, so it is not read again.
/// </summary>
public static class PackVerifier
{
    /// <summary>Throws a <see cref="SquashfsFormatException"/> naming the first path that differs.</summary>
    public static int Verify(string resultImage, string mergedView, string upperDirectory) => Verify(resultImage, mergedView, [upperDirectory]);

    /// <summary>The same for layers stacked on the image: every path any of their upper directories touched.</summary>
    public static int Verify(string resultImage, string mergedView, IReadOnlyList<string> upperDirectories)
    {
        using var result = SourceImage.Open(resultImage);
        var checkedPaths = 0;
        Compare(result.Root, mergedView, "/");
        CompareListing(result.Root, mergedView, "/");
        checkedPaths++;
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var paths = upperDirectories.SelectMany(upperDirectory => LinuxFiles.Walk(upperDirectory).Select(upperPath => Path.GetRelativePath(upperDirectory, upperPath)));
        foreach (var relative in paths.Where(touched.Add))
        {
            var merged = Path.Combine(mergedView, relative);
            var node = Find(result.Root, relative);
            if (!Exists(merged))
            {
                if (node is not null)
                {
                    throw new SquashfsFormatException($"/{relative} is in the packed image but not in the merged view");
                }
                continue;
            }
            if (node is null)
            {
                throw new SquashfsFormatException($"/{relative} is in the merged view but not in the packed image");
            }
            Compare(node, merged, "/" + relative);
            if (node.Kind == EntryKind.Directory)
            {
                CompareListing(node, merged, "/" + relative);
            }
            checkedPaths++;
        }
        return checkedPaths;
    }

    /// <summary>A directory the upper directory touched lists the same names in the result as in the merged view (what whiteouts, opaque directories and the index decide).</summary>
    private static void CompareListing(Inode node, string mergedPath, string name)
    {
        var merged = Directory.EnumerateFileSystemEntries(mergedPath, "*", new EnumerationOptions { AttributesToSkip = 0 })
            .Select(entry => Inode.NameFromHost(Path.GetFileName(entry))).ToHashSet(StringComparer.Ordinal);
        if (!merged.SetEquals(node.Children.Keys))
        {
            var missing = merged.Except(node.Children.Keys).Select(entry => $"+{entry}");
            var extra = node.Children.Keys.Except(merged).Select(entry => $"-{entry}");
            throw new SquashfsFormatException($"{name} lists other names in the packed image than in the merged view: {string.Join(", ", missing.Concat(extra).Take(5))}");
        }
    }

    private static bool Exists(string path)
    {
        try
        {
            LinuxFiles.Status(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static Inode? Find(Inode root, string relative)
    {
        var node = root;
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node.Kind != EntryKind.Directory || !node.Children.TryGetValue(Inode.NameFromHost(part), out var child))
            {
                return null;
            }
            node = child;
        }
        return node;
    }

    private static void Compare(Inode node, string mergedPath, string name)
    {
        var status = LinuxFiles.Status(mergedPath);
        var kind = status.Type switch
        {
            FileStatus.Directory => EntryKind.Directory,
            FileStatus.Regular => EntryKind.File,
            FileStatus.Symlink => EntryKind.Symlink,
            FileStatus.BlockDevice => EntryKind.BlockDevice,
            FileStatus.CharacterDevice => EntryKind.CharacterDevice,
            FileStatus.Fifo => EntryKind.Fifo,
            _ => EntryKind.Socket,
        };
        var differences = new List<string>();
        if (node.Kind != kind)
        {
            differences.Add($"type {node.Kind} against {kind}");
        }
        if (node.Permissions != (status.Mode & 0xFFF))
        {
            differences.Add($"mode {Convert.ToString(node.Permissions, 8)} against {Convert.ToString(status.Mode & 0xFFF, 8)}");
        }
        if (node.Uid != status.Uid || node.Gid != status.Gid)
        {
            differences.Add($"owner {node.Uid}:{node.Gid} against {status.Uid}:{status.Gid}");
        }
        if (node.ModifiedTime != (uint)Math.Clamp(status.ModifiedSeconds, 0, uint.MaxValue))
        {
            differences.Add($"time {node.ModifiedTime} against {status.ModifiedSeconds}");
        }
        if (kind == EntryKind.File && node.Content?.Size != status.Size)
        {
            differences.Add($"size {node.Content?.Size} against {status.Size}");
        }
        if (kind == EntryKind.Symlink && node.Kind == kind && !node.SymlinkTarget.AsSpan().SequenceEqual(LinuxFiles.LinkTarget(mergedPath)))
        {
            differences.Add("link target");
        }
        if (kind is EntryKind.BlockDevice or EntryKind.CharacterDevice && node.DeviceNumber != status.SquashfsDeviceNumber)
        {
            differences.Add($"device {node.DeviceNumber} against {status.SquashfsDeviceNumber}");
        }
        if (differences.Count > 0)
        {
            throw new SquashfsFormatException($"{name} differs between the packed image and the merged view: {string.Join("; ", differences)}");
        }
    }
}
