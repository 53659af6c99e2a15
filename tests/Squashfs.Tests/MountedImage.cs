using System.Security.Cryptography;
using System.Text;

namespace Cray.Squashfs.Tests;

/// <summary>An image mounted read-only by the kernel, which checks more than any user-space reader.</summary>
internal sealed class MountedImage : IAsyncDisposable
{
    private MountedImage(string directory) => Directory = directory;

    public string Directory { get; }

    public static async Task<MountedImage> MountAsync(string image)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("squashfs-mount-").FullName;
        await ImageCorpus.RunAsync("mount", "-t", "squashfs", "-o", "ro,loop", image, directory);
        return new MountedImage(directory);
    }

    public async ValueTask DisposeAsync()
    {
        await ImageCorpus.UnmountAsync(Directory);
        System.IO.Directory.Delete(Directory);
    }

    /// <summary>
    /// Every path with its type, mode, owner, size, time, link count, device, link target,
    /// extended attributes and content hash, and the other names of its hard links.
    /// </summary>
    public SortedDictionary<string, string> Describe()
    {
        var statuses = new Dictionary<string, FileStatus>(StringComparer.Ordinal);
        List<string> paths = [Directory, .. LinuxFiles.Walk(Directory)];
        foreach (var path in paths)
        {
            statuses[path] = LinuxFiles.Status(path);
        }
        var groups = statuses.Where(status => status.Value.Type != FileStatus.Directory && status.Value.Links > 1)
            .GroupBy(status => status.Value.InodeNumber)
            .ToDictionary(group => group.Key, group => string.Join(",", group.Select(status => Relative(status.Key)).Order(StringComparer.Ordinal)));
        var description = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, status) in statuses)
        {
            var text = new StringBuilder($"mode={Convert.ToString(status.Mode, 8)} owner={status.Uid}:{status.Gid} links={status.Links} mtime={status.ModifiedSeconds}");
            switch (status.Type)
            {
                case FileStatus.Regular:
                    text.Append($" size={status.Size} sha256={Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))}");
                    break;
                case FileStatus.Symlink:
                    text.Append($" target={Encoding.UTF8.GetString(LinuxFiles.LinkTarget(path))}");
                    break;
                case FileStatus.BlockDevice or FileStatus.CharacterDevice:
                    text.Append($" device={status.DeviceMajor}:{status.DeviceMinor}");
                    break;
                case FileStatus.Directory:
                    text.Append($" size={status.Size > 0}");
                    break;
            }
            foreach (var attribute in LinuxFiles.ExtendedAttributes(path).OrderBy(attribute => attribute.Name, StringComparer.Ordinal))
            {
                text.Append($" {attribute.Name}={Convert.ToHexString(attribute.Value)}");
            }
            if (groups.TryGetValue(status.InodeNumber, out var group) && status.Type != FileStatus.Directory)
            {
                text.Append($" hard-links={group}");
            }
            description[Relative(path)] = text.ToString();
        }
        return description;
    }

    private string Relative(string path) => Path.GetRelativePath(Directory, path) is var relative && relative == "." ? "/" : "/" + relative;
}
