using Cray.Cli.Artifacts;
using Cray.Cli.Bootprep;
using Microsoft.Extensions.Time.Testing;
using Spectre.Console.Testing;

namespace Cray.Cli.Tests;

/// <summary>
/// Progress as a terminal of 80 or 120 columns shows it (one line a transfer or item, labels short),
/// and as a log gets it (one line for each transfer, when it is done).
/// </summary>
public sealed class TransferProgressTests
{
    [Theory]
    [InlineData(80)]
    [InlineData(120)]
    public async Task EveryTransferKeepsToOneLine(int width)
    {
        var console = new TestConsole().Width(width).Interactive();
        await TransferProgress.RunAsync(console, async progress =>
        {
            await progress.StepAsync("packing rootfs", "Packing /var/lib/some/long/image/root/directory with mksquashfs (zstd)", () => Task.FromResult(0));
            progress.Start("rootfs", "Uploading rootfs to s3://boot-images/0b6f3c8e-2f1c-4a56-9d7e-3c1f0e6d2b9a/rootfs", 600L << 20).Advance(300L << 20);
            progress.Start("initrd-5.14.21-150400.24.46-default", "Uploading initrd to s3://boot-images/0b6f3c8e/initrd", 40L << 20).Advance(40L << 20);
            return 0;
        });
        var lines = console.Lines;
        Assert.All(lines, line => Assert.True(line.TrimEnd().Length <= width, $"{line.TrimEnd().Length} > {width}: {line}"));
        var rootfs = Assert.Single(lines, line => line.StartsWith("rootfs ", StringComparison.Ordinal));
        Assert.Contains("50%", rootfs);
        Assert.Contains("300.0/600.0 MiB", rootfs);
        Assert.Single(lines, line => line.Contains("…400.24.46-default", StringComparison.Ordinal) && line.Contains("100%", StringComparison.Ordinal));
        Assert.Single(lines, line => line.Contains("packing rootfs", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains("s3://", StringComparison.Ordinal));
    }

    [Fact]
    public void ALongLabelKeepsItsEnd()
    {
        Assert.Equal("rootfs", TransferProgress.Shortened("rootfs"));
        Assert.Equal(TransferProgress.LabelWidth, TransferProgress.Shortened("initrd-5.14.21-150400.24.46-default").Length);
        Assert.EndsWith("46-default", TransferProgress.Shortened("initrd-5.14.21-150400.24.46-default"));
    }

    [Fact]
    public async Task WithoutATerminalEachTransferIsOneLineWhenItIsDone()
    {
        var lines = new List<string>();
        var time = new FakeTimeProvider();
        await TransferProgress.RunPlainAsync(lines.Add, time, async progress =>
        {
            await progress.StepAsync("packing rootfs", "Packing /tmp/root with mksquashfs (zstd)", () =>
            {
                time.Advance(TimeSpan.FromSeconds(12.34));
                return Task.FromResult(0);
            });
            var upload = progress.Start("rootfs", "Uploading rootfs to s3://boot-images/abc/rootfs", 600L << 20);
            upload.Advance(300L << 20);
            time.Advance(TimeSpan.FromSeconds(3));
            upload.Advance(300L << 20);
            Assert.Single(lines);
            upload.Complete();
            // A transfer that fails is never said to be done.
            progress.Start("initrd", "Uploading initrd to s3://boot-images/abc/initrd", 40L << 20).Advance(1L << 20);
            return 0;
        });
        Assert.Equal(["Packing /tmp/root with mksquashfs (zstd): done in 12.3 s", "Uploading rootfs to s3://boot-images/abc/rootfs: 600.0 MiB in 3.0 s, 200.0 MiB/s"], lines);
    }

    [Theory]
    [InlineData(80)]
    [InlineData(120)]
    public async Task EveryBootprepItemKeepsToOneLine(int width)
    {
        var console = new TestConsole().Width(width).Interactive();
        await BootprepProgress.RunAsync(console, progress =>
        {
            progress.Update("image cray-shasta-compute-sles15sp5.x86_64-2.4.119-customized-for-the-login-nodes",
                "building_image (IMS job 0b6f3c8e-2f1c-4a56-9d7e-3c1f0e6d2b9a)");
            progress.Update("configuration compute-and-uan-configuration-23.7.1", "created");
            progress.Finish("session-template cos-2.5", "created");
            return Task.FromResult(0);
        });
        var lines = console.Lines;
        Assert.All(lines, line => Assert.True(line.TrimEnd().Length <= width, $"{line.TrimEnd().Length} > {width}: {line}"));
        // The last frame drawn: under the header, one row an item, none wrapped onto a second line.
        var header = lines.ToList().FindLastIndex(line => line.TrimStart().StartsWith("Item ", StringComparison.Ordinal));
        var rows = lines.Skip(header + 2).TakeWhile(line => line.Trim().Length > 0).ToList();
        Assert.Equal(3, rows.Count);
        Assert.Contains("image cray-shasta", rows[0]);
        Assert.Contains("building_image (IMS job", rows[0]);
        Assert.Contains("…", rows[0]);
        Assert.Contains("configuration compute", rows[1]);
        Assert.Contains("session-template cos-2.5", rows[2]);
        Assert.Contains("created", rows[2]);
    }
}
