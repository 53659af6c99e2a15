using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Cfs.Model;
using Cray.Platform.Logs;

namespace Cray.Cfs.Runner;

/// <summary>
/// What made an image: written by an image session into every image it customizes, at
/// <see cref="PathInImage"/>, and into the result's IMS metadata under <see cref="MetadataKey"/>
/// (<c>cray ims images history ID</c> prints it). It names the source image and its rootfs
/// checksum, each layer's repository, commit, playbook and cache key and whether it was reused,
/// the session, the Ansible and server versions and the times.
/// </summary>
public sealed class ImageProvenance(ImageCustomization imageCustomization, ImsClient ims, SessionLayerCache layerCache, TimeProvider clock)
{
    public const string PathInImage = "/etc/cray/image-provenance.json";
    public const string MetadataKey = "cfs_provenance";
    public const int Version = 1;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes each image's provenance into it through its jail, before it is packed; returns them by image id.</summary>
    public async Task<Dictionary<string, JsonObject>> WriteAsync(SessionRecord session, IReadOnlyDictionary<string, JsonObject> images, IReadOnlyList<LayerCheckout> layers,
        IReadOnlyDictionary<string, ImageLayerPlan> plans, SessionWorkspace workspace, DateTimeOffset started, Action<string> log, CancellationToken cancellationToken)
    {
        var written = new Dictionary<string, JsonObject>(StringComparer.OrdinalIgnoreCase);
        var ansibleVersion = await layerCache.AnsibleVersionAsync(cancellationToken);
        foreach (var host in workspace.Images)
        {
            var image = images[host.ImageId];
            plans.TryGetValue(host.ImageId, out var plan);
            var document = new JsonObject
            {
                ["version"] = Version,
                ["session"] = session.Name,
                ["configuration"] = new JsonObject { ["name"] = session.Configuration.Name, ["limit"] = session.Configuration.Limit },
                ["source_image"] = new JsonObject
                {
                    ["id"] = host.ImageId,
                    ["name"] = image["name"]?.GetValue<string>(),
                    ["rootfs_md5"] = plan?.SourceRootfsMd5 ?? await layerCache.RootfsMd5Async(image, cancellationToken),
                },
                ["target_groups"] = new JsonArray(SessionLayerCache.GroupsOf(session.Target, host.ImageId).Select(group => (JsonNode?)group).ToArray()),
                ["layers"] = new JsonArray(layers.Select((layer, position) => (JsonNode?)new JsonObject
                {
                    ["index"] = int.TryParse(layer.Index, out var index) ? index : null,
                    ["name"] = layer.Name,
                    ["clone_url"] = UrlCredentials.Redact(layer.CloneUrl),
                    ["commit"] = layer.Commit,
                    ["playbook"] = layer.Playbook,
                    ["key"] = plan is not null && position < plan.Keys.Count ? plan.Keys[position] : null,
                    ["reused"] = plan is not null && position < plan.Restored,
                }).ToArray()),
                ["ansible"] = new JsonObject
                {
                    ["version"] = ansibleVersion,
                    ["limit"] = session.Ansible.Limit ?? "",
                    ["passthrough"] = session.Ansible.Passthrough ?? "",
                },
                ["server_version"] = ServerVersion(),
                ["started"] = Instant(started),
                ["finished"] = Instant(clock.GetUtcNow()),
            };
            await imageCustomization.WriteIntoImageAsync(host, workspace, PathInImage, document.ToJsonString(Indented) + "\n", cancellationToken);
            written[host.ImageId] = document;
        }
        log($"Provenance written into {(workspace.Images.Count == 1 ? "the image" : $"each of the {workspace.Images.Count} images")} at {PathInImage}.");
        return written;
    }

    /// <summary>Records each result's provenance in its IMS metadata; a failure is logged, the image stays.</summary>
    public async Task RecordAsync(IReadOnlyDictionary<string, JsonObject> provenance, IReadOnlyList<ImageHost> images, Action<string> log, CancellationToken cancellationToken)
    {
        foreach (var host in images)
        {
            if (host.FinalJob?["resultant_image_id"]?.GetValue<string>() is not { Length: > 0 } resultId || !provenance.TryGetValue(host.ImageId, out var document))
            {
                continue;
            }
            try
            {
                await ims.SetImageMetadataAsync(resultId, MetadataKey, document.ToJsonString(), cancellationToken);
            }
            catch (Exception exception) when (exception is SessionFailedException or HttpRequestException)
            {
                log($"Could not record the provenance of image {resultId} in IMS: {exception.Message}");
            }
        }
    }

    /// <summary>UTC with its Z: the file is read by people and tools outside the reference's record formats.</summary>
    private static string Instant(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    private static string ServerVersion() => Platform.ProductVersion.Of(typeof(ImageProvenance).Assembly) ?? "unknown";
}
