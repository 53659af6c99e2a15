using Cray.Cli.Artifacts;
using Spectre.Console.Testing;

namespace Cray.Cli.Tests;

/// <summary>Transfer bars as a terminal of 80 or 120 columns shows them: one line a transfer, labels short.</summary>
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
}
