using System.Diagnostics;
using Cray.Squashfs;

// Usage: IncrementalPackBench SOURCE UPPER MERGED OUTPUT INDEX-DIRECTORY
// Packs twice: copying the source's blocks at pack time, and over a copy of the source's data area
// made beforehand (as a job makes it while the user or Ansible works); both results are checked.
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: IncrementalPackBench SOURCE UPPER MERGED OUTPUT INDEX-DIRECTORY");
    return 2;
}
var (source, upper, merged, output, index) = (args[0], args[1], args[2], args[3], args[4]);
var modificationTime = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();

var result = IncrementalPacker.Pack(source, upper, index, output, modificationTime);
var checking = Stopwatch.StartNew();
var checkedPaths = PackVerifier.Verify(output, merged, upper);
var written = result.Written;
Console.WriteLine($"  incremental pack, copying at pack time: {result.Elapsed.TotalSeconds:0.00} s ({result.Compressor}); {written.CopiedBytes / 1e6:0} MB copied as stored, "
    + $"{written.NewFiles} changed files ({written.NewFileBytes / 1e6:0.0} MB) compressed, {written.ImageBytes / 1e6:0} MB result");
Console.WriteLine($"  check against the merged view: {checking.Elapsed.TotalSeconds:0.00} s ({checkedPaths} paths)");

var copying = Stopwatch.StartNew();
var sourceData = output + ".source-data";
SourceDataCopy.Copy(source, sourceData, CancellationToken.None);
Console.WriteLine($"  copy of the source's data area (made while a job runs): {copying.Elapsed.TotalSeconds:0.00} s");
var precopied = IncrementalPacker.Pack(source, upper, index, output + ".precopied", modificationTime, sourceData: sourceData);
PackVerifier.Verify(output + ".precopied", merged, upper);
Console.WriteLine($"  incremental pack over that copy, at the end of the job: {precopied.Elapsed.TotalSeconds:0.00} s, {precopied.Written.ImageBytes / 1e6:0} MB result");
return 0;
