using System.Diagnostics;
using Cray.Squashfs;

// Usage: IncrementalPackBench SOURCE UPPER MERGED OUTPUT INDEX-DIRECTORY
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: IncrementalPackBench SOURCE UPPER MERGED OUTPUT INDEX-DIRECTORY");
    return 2;
}
var (source, upper, merged, output, index) = (args[0], args[1], args[2], args[3], args[4]);
var result = IncrementalPacker.Pack(source, upper, index, output, (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds(), compressor: null);
var checking = Stopwatch.StartNew();
var checkedPaths = PackVerifier.Verify(output, merged, upper);
var written = result.Written;
Console.WriteLine($"  incremental pack: {result.Elapsed.TotalSeconds:0.00} s ({result.Compressor}); {written.CopiedBytes / 1e6:0} MB copied as stored, "
    + $"{written.NewFiles} changed files ({written.NewFileBytes / 1e6:0.0} MB) compressed, {written.ImageBytes / 1e6:0} MB result");
Console.WriteLine($"  check against the merged view: {checking.Elapsed.TotalSeconds:0.00} s ({checkedPaths} paths)");
return 0;
