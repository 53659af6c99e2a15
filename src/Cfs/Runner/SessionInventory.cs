using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Cfs.Model;

namespace Cray.Cfs.Runner;

/// <summary>
/// The inventory CFS generates (<c>hosts/01-cfs-generated.yaml</c>, JSON being YAML): exactly the
/// session's groups, as the seed says, beside whatever additional inventory the checkout holds.
/// </summary>
public static class SessionInventory
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public const string GeneratedFileName = "01-cfs-generated.yaml";

    /// <summary>
    /// image: the groups name image hosts, and <c>cfs_image</c> holds each with the reference's host
    /// variables; spec: the groups and members as given; repo: nothing but <c>cray_cfs_image: false</c>.
    /// </summary>
    public static JsonObject Build(SessionTarget target, IReadOnlyList<ImageHost> images, string imagePrivateKey)
    {
        var children = new JsonObject();
        if (target.Definition == TargetDefinitions.Image)
        {
            children["cfs_image"] = new JsonObject
            {
                ["hosts"] = new JsonObject(images.Select(image => KeyValuePair.Create(image.ImageId, (JsonNode?)new JsonObject
                {
                    ["ansible_host"] = image.Host,
                    ["ansible_port"] = image.Port,
                    ["ansible_user"] = "root",
                    ["cray_cfs_image"] = true,
                    ["ansible_python_interpreter"] = "/usr/bin/env python3",
                    ["ansible_ssh_private_key_file"] = imagePrivateKey,
                }))),
            };
        }
        if (target.Definition is TargetDefinitions.Image or TargetDefinitions.Spec)
        {
            foreach (var group in target.Groups ?? [])
            {
                var hosts = children[group.Name]?["hosts"]?.DeepClone() as JsonObject ?? [];
                foreach (var member in group.Members)
                {
                    // An image in two groups is one host (and one IMS job): members match image ids case-insensitively.
                    var host = target.Definition == TargetDefinitions.Image
                        ? images.First(image => string.Equals(image.ImageId, member, StringComparison.OrdinalIgnoreCase)).ImageId
                        : member;
                    hosts[host] = new JsonObject();
                }
                children[group.Name] = new JsonObject { ["hosts"] = hosts };
            }
        }
        return new JsonObject
        {
            ["all"] = new JsonObject
            {
                ["vars"] = new JsonObject { ["cray_cfs_image"] = false },
                ["children"] = children,
            },
        };
    }

    /// <summary>Writes the generated file into the inventory directory and returns the directory, Ansible's <c>-i</c>.</summary>
    public static string Write(SessionTarget target, SessionWorkspace workspace)
    {
        Directory.CreateDirectory(workspace.InventoryDirectory);
        var inventory = Build(target, workspace.Images, workspace.ImagePrivateKey);
        var path = Path.Combine(workspace.InventoryDirectory, GeneratedFileName);
        // The directory may be a checked-out repository: a file of that name there (a symbolic link
        // above all) is replaced, never written through.
        if (Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null)
        {
            throw new SessionFailedException($"The additional inventory has a directory named {GeneratedFileName}, the file CFS generates.");
        }
        File.Delete(path);
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            JsonSerializer.Serialize(stream, inventory, IndentedJson);
        }
        return workspace.InventoryDirectory;
    }
}
