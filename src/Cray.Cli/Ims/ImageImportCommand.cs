using System.CommandLine;
using System.Text.Json.Nodes;
using Cray.Cli.Artifacts;
using Cray.Cli.Common;
using Cray.Processes;

namespace Cray.Cli.Ims;

/// <summary>
/// <c>cray ims images import</c>: the documented "Import an External Image" procedure (checksums,
/// uploads, a manifest, the link) in one command. A failure part-way removes what it created.
/// </summary>
public static class ImageImportCommand
{

    private sealed record Part(string Key, string File, string Type);

    public static Command Build()
    {
        var name = new Option<string>("--name") { Description = "Name of the new image", Required = true, HelpName = "NAME" };
        var rootfs = new Option<string>("--rootfs") { Description = "The root file system: a squashfs file, or a directory to pack with mksquashfs", Required = true, HelpName = "PATH" };
        var kernel = new Option<string>("--kernel") { Description = "Kernel file", HelpName = "FILE" };
        var initrd = new Option<string>("--initrd") { Description = "Initrd file", HelpName = "FILE" };
        var parameters = new Option<string>("--kernel-parameters") { Description = "Kernel parameters file", HelpName = "FILE" };
        var arch = ImsCommands.ArchOption();
        var compressor = new Option<string>("--compressor")
        {
            Description = "mksquashfs compressor when --rootfs is a directory (zstd, gzip, xz, lz4, lzo)",
            HelpName = "NAME",
            DefaultValueFactory = _ => "zstd",
        };
        compressor.AcceptOnlyFromAmong("zstd", "gzip", "xz", "lz4", "lzo");
        return Leaf.Create("import", "Import an image from a root file system (and kernel, initrd, parameters) in one step",
            (context, token) => ImportAsync(context, context.Value(name)!, context.Value(rootfs)!, context.Value(kernel), context.Value(initrd),
                context.Value(parameters), context.Value(arch), context.Value(compressor)!, token),
            name, rootfs, kernel, initrd, parameters, arch, compressor);
    }

    private static async Task<JsonNode?> ImportAsync(CliContext context, string name, string rootfs, string? kernel, string? initrd,
        string? parameters, string? arch, string compressor, CancellationToken cancellationToken)
    {
        var rootfsIsDirectory = Directory.Exists(rootfs);
        if (!rootfsIsDirectory && !File.Exists(rootfs))
        {
            throw new CliException($"Invalid value for '--rootfs': '{rootfs}' is neither a file nor a directory.", showUsage: true);
        }
        foreach (var (option, path) in new[] { ("--kernel", kernel), ("--initrd", initrd), ("--kernel-parameters", parameters) })
        {
            if (path is not null && !File.Exists(path))
            {
                throw new CliException($"Invalid value for '{option}': File '{path}' does not exist.", showUsage: true);
            }
        }

        return await TransferProgress.RunAsync(context, async progress =>
        {
            string? packed = null;
            string? imageId = null;
            var uploaded = new List<string>();
            try
            {
                var squashfs = rootfs;
                if (rootfsIsDirectory)
                {
                    packed = Path.Combine(Path.GetTempPath(), $"cray-import-{Guid.NewGuid():n}.squashfs");
                    squashfs = packed;
                    await progress.StepAsync("packing rootfs", $"Packing {rootfs} with mksquashfs ({compressor})", () => PackAsync(rootfs, packed, compressor, cancellationToken));
                }

                var hostname = context.Configuration.Hostname ?? "";
                await UnfinishedImports.CleanUpAsync(context, hostname, ArtifactTransfers.BootImagesBucket, cancellationToken);
                var body = ImsCommands.Body(("name", name), ("arch", arch));
                var image = await context.Api.SendAsync(HttpMethod.Post, $"{ImsCommands.Base}/images", body, cancellationToken: cancellationToken);
                imageId = image?["id"]?.GetValue<string>() ?? throw new CliException("The server did not return an image id.");
                UnfinishedImports.Record(hostname, imageId, uploaded);

                var parts = new List<Part> { new($"{imageId}/rootfs", squashfs, "application/vnd.cray.image.rootfs.squashfs") };
                if (kernel is not null)
                {
                    parts.Add(new($"{imageId}/kernel", kernel, "application/vnd.cray.image.kernel"));
                }
                if (initrd is not null)
                {
                    parts.Add(new($"{imageId}/initrd", initrd, "application/vnd.cray.image.initrd"));
                }
                if (parameters is not null)
                {
                    parts.Add(new($"{imageId}/boot_parameters", parameters, "application/vnd.cray.image.parameters.boot"));
                }

                var entries = new JsonArray();
                foreach (var part in parts)
                {
                    var metadata = new Dictionary<string, string> { ["x-shasta-ims-image-name"] = name, ["x-shasta-ims-image-id"] = imageId };
                    uploaded.Add(part.Key);
                    UnfinishedImports.Record(hostname, imageId, uploaded);
                    var stored = await ArtifactTransfers.UploadAsync(context, progress, ArtifactTransfers.BootImagesBucket, part.Key, part.File, metadata, cancellationToken,
                        $"Uploading {part.Key[(imageId.Length + 1)..]} to s3://{ArtifactTransfers.BootImagesBucket}/{part.Key}");
                    entries.Add(new JsonObject
                    {
                        ["link"] = new JsonObject { ["etag"] = stored.ETag, ["path"] = $"s3://{ArtifactTransfers.BootImagesBucket}/{part.Key}", ["type"] = "s3" },
                        ["md5"] = stored.Md5,
                        ["type"] = part.Type,
                    });
                }

                var manifest = new JsonObject
                {
                    ["artifacts"] = entries,
                    ["created"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture),
                    ["version"] = "1.0",
                };
                var manifestFile = Path.Combine(Path.GetTempPath(), $"cray-import-{Guid.NewGuid():n}.json");
                string manifestEtag;
                try
                {
                    await File.WriteAllTextAsync(manifestFile, manifest.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), cancellationToken);
                    var manifestKey = $"{imageId}/manifest.json";
                    uploaded.Add(manifestKey);
                    UnfinishedImports.Record(hostname, imageId, uploaded);
                    manifestEtag = (await ArtifactTransfers.UploadAsync(context, progress, ArtifactTransfers.BootImagesBucket, manifestKey, manifestFile, null, cancellationToken,
                        $"Uploading manifest.json to s3://{ArtifactTransfers.BootImagesBucket}/{manifestKey}")).ETag;
                }
                finally
                {
                    File.Delete(manifestFile);
                }

                var link = new JsonObject
                {
                    ["link"] = new JsonObject { ["path"] = $"s3://{ArtifactTransfers.BootImagesBucket}/{imageId}/manifest.json", ["etag"] = manifestEtag, ["type"] = "s3" },
                };
                var linked = await context.Api.SendAsync(HttpMethod.Patch, $"{ImsCommands.Base}/images/{imageId}", link, cancellationToken: cancellationToken);
                UnfinishedImports.Forget(imageId);
                return linked;
            }
            catch
            {
                // The note stays when the undo could not finish: the next import tries again.
                if (await UndoAsync(context, imageId, uploaded) && imageId is not null)
                {
                    UnfinishedImports.Forget(imageId);
                }
                throw;
            }
            finally
            {
                if (packed is not null)
                {
                    File.Delete(packed);
                }
            }
        });
    }

    private static async Task<bool> PackAsync(string directory, string target, string compressor, CancellationToken cancellationToken)
    {
        var request = new ProcessRequest("mksquashfs", [directory, target, .. SquashfsOptions.For(compressor)])
        {
            Timeout = TimeSpan.FromHours(2),
        };
        try
        {
            await ProcessRunner.Instance.RunCheckedAsync(request, cancellationToken);
        }
        catch (ProcessFailedException exception)
        {
            throw new CliException(exception.Failure == ProcessFailure.NotStarted
                ? "mksquashfs is needed to pack a directory; install it with: apt-get install squashfs-tools"
                : $"Packing {directory} failed: {exception.Message}");
        }
        return true;
    }

    /// <summary>Removes what a failed import created: its objects and its image record (hard delete, so nothing lingers in the deleted list).</summary>
    /// <summary>Removes what a failed import made; false when the image record could not be removed.</summary>
    private static async Task<bool> UndoAsync(CliContext context, string? imageId, List<string> uploadedKeys)
    {
        if (imageId is null)
        {
            // Nothing was uploaded before the record existed.
            return true;
        }
        try
        {
            await UnfinishedImports.RemoveAsync(context, ArtifactTransfers.BootImagesBucket, imageId, uploadedKeys);
            return true;
        }
        catch (CliException exception)
        {
            CliHost.Current.Error.WriteLine($"Warning: could not remove the partly imported image {imageId}: {exception.Message}; the next import will.");
            return false;
        }
    }
}
