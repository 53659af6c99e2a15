using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Artifacts;

/// <summary>Streams files to and from the artifact repository with flat memory, checking each upload's checksum.</summary>
public static class ArtifactTransfers
{
    public const string Base = "apis/artifacts";

    /// <summary>IMS's buckets: image files and manifests, and recipe archives.</summary>
    public const string BootImagesBucket = "boot-images";
    public const string ImsBucket = "ims";

    public static string ObjectPath(string bucket, string key)
        => $"{Base}/{Uri.EscapeDataString(bucket)}/{string.Join('/', key.Split('/').Select(Uri.EscapeDataString))}";

    /// <summary>Uploads a file and returns the stored object's md5 and ETag (which differ when the repository stored it in parts).</summary>
    public static async Task<StoredObject> UploadAsync(CliContext context, TransferProgress progress, string bucket, string key, string filePath,
        IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken, string? description = null)
    {
        FileStream file;
        try
        {
            file = new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Cannot read {filePath}: {exception.Message}");
        }
        var task = progress.Start(Path.GetFileName(key), description ?? $"Uploading {Path.GetFileName(filePath)} to s3://{bucket}/{key}", file.Length);
        await using var hashing = new HashingReadStream(file, task);
        using var content = new StreamContent(hashing, 1 << 20);
        content.Headers.ContentLength = file.Length;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Put, context.Api.Url(ObjectPath(bucket, key))) { Content = content };
        foreach (var (name, value) in metadata ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation("x-amz-meta-" + name, value);
        }
        using var response = await context.Api.SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var stored = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var etag = stored?["ETag"]?.GetValue<string>().Trim('"') ?? "";
        // The server states the md5 it computed on the way in; an S3 ETag is the md5 only of a single-part upload.
        var storedMd5 = response.Headers.TryGetValues(Md5Header, out var values) ? values.First() : etag;
        var local = hashing.Md5Hex();
        if (!string.Equals(storedMd5, local, StringComparison.OrdinalIgnoreCase))
        {
            await DeleteQuietlyAsync(context, bucket, key);
            throw new CliException($"Upload of {filePath} was corrupted: the server stored md5 {storedMd5}, the file has {local}. Nothing was kept; try again.");
        }
        task.Complete();
        return new StoredObject(local, etag);
    }

    public const string Md5Header = "x-amz-meta-md5sum";

    public sealed record StoredObject(string Md5, string ETag);

    public static async Task DownloadAsync(CliContext context, TransferProgress progress, string bucket, string key, string filePath, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, context.Api.Url(ObjectPath(bucket, key)));
        using var response = await context.Api.SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var total = response.Content.Headers.ContentLength ?? 0;
        var task = progress.Start(Path.GetFileName(key), $"Downloading s3://{bucket}/{key}", total);
        var directory = Path.GetDirectoryName(Path.GetFullPath(filePath))!;
        var temporary = Path.Combine(directory, $".{Path.GetFileName(filePath)}.part-{Environment.ProcessId}");
        try
        {
            await using (var source = await response.Content.ReadAsStreamAsync(cancellationToken))
            await using (var target = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    task.Advance(read);
                }
            }
            File.Move(temporary, filePath, overwrite: true);
            task.Complete();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Cannot write {filePath}: {exception.Message}");
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Cleanup after a failure: a missing object is fine, and nothing here may hide the original error.</summary>
    public static async Task DeleteQuietlyAsync(CliContext context, string bucket, string key)
    {
        try
        {
            await context.Api.SendAsync(HttpMethod.Delete, ObjectPath(bucket, key));
        }
        catch (CliException)
        {
        }
    }
}
