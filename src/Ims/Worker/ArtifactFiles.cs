using System.Security.Cryptography;
using Cray.Artifacts;

namespace Cray.Ims.Worker;

/// <summary>Copies of artifacts into a job directory, with the md5 computed on the way.</summary>
public static class ArtifactFiles
{
    /// <summary>Copies an object to a file and returns its md5 (lowercase hex).</summary>
    public static async Task<string> CopyWithChecksumAsync(IArtifactStore artifacts, string bucket, string key, string path, string target, CancellationToken cancellationToken)
    {
        await using var content = await artifacts.OpenReadAsync(bucket, key, cancellationToken: cancellationToken)
            ?? throw new JobFailedException($"{path} no longer exists in the artifact repository (deleted after the job was created?).");
        var source = content.Stream;
        await using var copy = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = new byte[1 << 20];
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            await copy.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
