using Cray.Processes;
using Cray.Server;

namespace Cray.Cfs.Tests;

/// <summary>The server's data directory is its own: closed at start, refused when others can write it.</summary>
public sealed class DataDirectoryAccessTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly string parent = Directory.CreateTempSubdirectory("data-directory-access-").FullName;

    public void Dispose() => Directory.Delete(parent, recursive: true);

    [Fact]
    public void AMissingDirectoryIsCreatedForTheOwnerOnly()
    {
        var directory = Path.Combine(parent, "new");
        Assert.Null(DataDirectoryAccess.Problem(directory));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(directory));
    }

    [Fact]
    public void AReadableDirectoryIsClosed()
    {
        var directory = Directory.CreateDirectory(Path.Combine(parent, "readable")).FullName;
        File.SetUnixFileMode(directory, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Assert.Null(DataDirectoryAccess.Problem(directory));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(directory));
    }

    [Theory]
    [InlineData(UnixFileMode.OtherWrite)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void ADirectoryOthersCanWriteIsRefusedAndLeftAsItIs(UnixFileMode extra)
    {
        var directory = Directory.CreateDirectory(Path.Combine(parent, "open")).FullName;
        var mode = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute | extra;
        File.SetUnixFileMode(directory, mode);
        Assert.Contains("writable by group or others", DataDirectoryAccess.Problem(directory));
        Assert.Equal(mode, File.GetUnixFileMode(directory));
    }

    [Fact]
    public async Task ADirectoryOfAnotherUserIsRefused()
    {
        var directory = Directory.CreateDirectory(Path.Combine(parent, "someone-else")).FullName;
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("chown", ["65534", directory]));
        Assert.Contains("belongs to user 65534", DataDirectoryAccess.Problem(directory));
    }
}
