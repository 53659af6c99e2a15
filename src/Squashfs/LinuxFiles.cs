using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cray.Squashfs;

/// <summary>What <c>lstat</c> says of a file (through <c>statx</c>, whose layout is the same on every architecture).</summary>
public readonly record struct FileStatus(uint Mode, uint Links, uint Uid, uint Gid, ulong Device, ulong InodeNumber, ulong Size, long ModifiedSeconds,
    uint DeviceMajor, uint DeviceMinor)
{
    public const uint TypeMask = 0xF000;
    public const uint Directory = 0x4000;
    public const uint Regular = 0x8000;
    public const uint Symlink = 0xA000;
    public const uint BlockDevice = 0x6000;
    public const uint CharacterDevice = 0x2000;
    public const uint Fifo = 0x1000;
    public const uint Socket = 0xC000;

    public uint Type => Mode & TypeMask;

    /// <summary>The device number as squashfs stores it (the kernel's new_encode_dev).</summary>
    public uint SquashfsDeviceNumber => (DeviceMinor & 0xFF) | (DeviceMajor << 8) | ((DeviceMinor & ~0xFFu) << 12);
}

/// <summary>The Linux calls the packer needs and .NET does not offer: lstat's owners and device numbers, extended attributes, readlink's bytes, copy_file_range.</summary>
internal static partial class LinuxFiles
{
    private const int CurrentDirectory = -100;
    private const int NoFollow = 0x100;
    private const uint BasicStatistics = 0x7FF;
    private const int RangeError = 34;
    private const int NoData = 61;
    private const int NotSupported = 95;

    public static FileStatus Status(string path)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (StatusCall(CurrentDirectory, path, NoFollow, BasicStatistics, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            throw new IOException($"cannot stat {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        return Parse(buffer);
    }

    /// <summary>What an open file is (fstat), to make sure it is the file lstat saw.</summary>
    public static FileStatus Status(SafeFileHandle file, string path)
    {
        const int emptyPath = 0x1000;
        Span<byte> buffer = stackalloc byte[256];
        if (StatusCall((int)file.DangerousGetHandle(), "", emptyPath, BasicStatistics, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            throw new IOException($"cannot stat {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        return Parse(buffer);
    }

    private static FileStatus Parse(ReadOnlySpan<byte> buffer)
    {
        return new FileStatus(
            Mode: BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]),
            Links: BinaryPrimitives.ReadUInt32LittleEndian(buffer[16..]),
            Uid: BinaryPrimitives.ReadUInt32LittleEndian(buffer[20..]),
            Gid: BinaryPrimitives.ReadUInt32LittleEndian(buffer[24..]),
            Device: ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(buffer[136..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(buffer[140..]),
            InodeNumber: BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]),
            Size: BinaryPrimitives.ReadUInt64LittleEndian(buffer[40..]),
            ModifiedSeconds: BinaryPrimitives.ReadInt64LittleEndian(buffer[112..]),
            DeviceMajor: BinaryPrimitives.ReadUInt32LittleEndian(buffer[128..]),
            DeviceMinor: BinaryPrimitives.ReadUInt32LittleEndian(buffer[132..]));
    }

    /// <summary>Every extended attribute of the file itself (a symbolic link's own, not its target's).</summary>
    public static List<ExtendedAttributePair> ExtendedAttributes(string path)
    {
        var names = new byte[4096];
        nint length;
        while ((length = ListAttributes(path, names, names.Length)) < 0)
        {
            if (Marshal.GetLastPInvokeError() == NotSupported)
            {
                return []; // A file system without extended attributes (an image made with -no-xattrs) has none.
            }
            if (Marshal.GetLastPInvokeError() != RangeError)
            {
                throw new IOException($"cannot list the extended attributes of {path}: {Marshal.GetLastPInvokeErrorMessage()}");
            }
            names = new byte[names.Length * 4];
        }
        var attributes = new List<ExtendedAttributePair>();
        try
        {
            foreach (var name in names.AsSpan(0, (int)length).ToArray().Split0())
            {
                if (Value(path, name) is { } value)
                {
                    attributes.Add(new ExtendedAttributePair(name, value));
                }
            }
        }
        catch (SquashfsFormatException exception)
        {
            throw new SquashfsFormatException($"{path}: {exception.Message}");
        }
        return attributes;
    }

    private static byte[]? Value(string path, string name)
    {
        var value = new byte[256];
        nint length;
        while ((length = GetAttribute(path, name, value, value.Length)) < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            if (error == NoData)
            {
                return null;
            }
            if (error != RangeError)
            {
                throw new IOException($"cannot read the extended attribute {name} of {path}: {Marshal.GetLastPInvokeErrorMessage()}");
            }
            value = new byte[value.Length * 16];
        }
        return value[..(int)length];
    }

    private static IEnumerable<string> Split0(this byte[] list)
    {
        var start = 0;
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i] == 0)
            {
                if (i > start)
                {
                    yield return System.Text.Encoding.ASCII.GetString(list, start, i - start);
                }
                start = i + 1;
            }
            else if (list[i] > 127)
            {
                // Read back by a mangled name the attribute would be missed: refuse instead.
                throw new SquashfsFormatException("an extended attribute's name is not ASCII");
            }
        }
    }

    /// <summary>Every path under a directory, parents first; directories are told by lstat, so no symbolic link is followed.</summary>
    public static IEnumerable<string> Walk(string directory)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory, "*", new EnumerationOptions { AttributesToSkip = 0 }))
        {
            yield return entry;
            if (Status(entry).Type == FileStatus.Directory)
            {
                foreach (var below in Walk(entry))
                {
                    yield return below;
                }
            }
        }
    }

    /// <summary>A symbolic link's target as the bytes stored.</summary>
    public static byte[] LinkTarget(string path)
    {
        var buffer = new byte[4097];
        var length = ReadLink(path, buffer, buffer.Length);
        if (length < 0)
        {
            throw new IOException($"cannot read the link {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        return length < buffer.Length ? buffer[..(int)length] : throw new IOException($"the link {path} has a target longer than 4096 bytes");
    }

    /// <summary>Copies a range between files in the kernel (sharing extents where the file system can); plain reads and writes where it cannot.</summary>
    public static void CopyRange(SafeFileHandle source, long sourceOffset, SafeFileHandle target, long targetOffset, long length, byte[] buffer)
    {
        var sourceDescriptor = (int)source.DangerousGetHandle();
        var targetDescriptor = (int)target.DangerousGetHandle();
        while (length > 0)
        {
            var copied = CopyFileRange(sourceDescriptor, ref sourceOffset, targetDescriptor, ref targetOffset, (nuint)Math.Min(length, 1L << 30), 0);
            if (copied <= 0)
            {
                break;
            }
            length -= copied;
        }
        while (length > 0)
        {
            var read = RandomAccess.Read(source, buffer.AsSpan(0, (int)Math.Min(length, buffer.Length)), sourceOffset);
            if (read == 0)
            {
                throw new SquashfsFormatException($"the source image ends before byte {sourceOffset + length}");
            }
            RandomAccess.Write(target, buffer.AsSpan(0, read), targetOffset);
            sourceOffset += read;
            targetOffset += read;
            length -= read;
        }
    }

    /// <summary>
    /// Opens a file to read only if it is one: a symbolic link is not followed and a FIFO does not
    /// block (O_NOFOLLOW, O_NONBLOCK), so a name swapped after lstat cannot lead anywhere else.
    /// </summary>
    public static SafeFileHandle OpenRegularFile(string path)
    {
        const int readOnlyNonBlockingCloseOnExec = 0x800 | 0x80000;
        var noFollow = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;
        var descriptor = Open(path, readOnlyNonBlockingCloseOnExec | noFollow);
        if (descriptor < 0)
        {
            throw new IOException($"cannot open {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        var handle = new SafeFileHandle(descriptor, ownsHandle: true);
        if (Status(handle, path).Type != FileStatus.Regular)
        {
            handle.Dispose();
            throw new IOException($"{path} is not a regular file");
        }
        return handle;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    /// <summary>Whether the file has no data from <paramref name="offset"/> to <paramref name="end"/>: a hole (lseek's SEEK_DATA).</summary>
    public static bool IsHole(SafeFileHandle file, long offset, long end)
    {
        const int seekData = 3;
        const int noSuchAddress = 6;
        var data = Seek((int)file.DangerousGetHandle(), offset, seekData);
        return data < 0 ? Marshal.GetLastPInvokeError() == noSuchAddress : data >= end;
    }

    /// <summary>Deallocates a range, which then reads as zeros (fallocate's PUNCH_HOLE); false where the file system cannot.</summary>
    public static bool PunchHole(SafeFileHandle file, long offset, long length)
    {
        const int punchHoleKeepSize = 0x02 | 0x01;
        return Allocate((int)file.DangerousGetHandle(), punchHoleKeepSize, offset, length) == 0;
    }

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Allocate(int descriptor, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Seek(int descriptor, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatusCall(int directory, string path, int flags, uint mask, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ListAttributes(string path, byte[] list, nint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetAttribute(string path, string name, byte[] value, nint size);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadLink(string path, byte[] buffer, nint size);

    [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    private static partial nint CopyFileRange(int sourceDescriptor, ref long sourceOffset, int targetDescriptor, ref long targetOffset, nuint length, uint flags);
}
