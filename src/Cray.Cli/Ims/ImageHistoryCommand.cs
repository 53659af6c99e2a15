using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Ims;

/// <summary>
/// <c>cray ims images history IMAGE_ID</c> (ours): what made an image, from the provenance a CFS
/// image session records in the result's metadata (<c>cfs_provenance</c>), and what made its source,
/// back to an image no session made. Newest first.
/// </summary>
public static class ImageHistoryCommand
{
    public const string MetadataKey = "cfs_provenance";

    /// <summary>Far more generations than any site keeps; it also ends a loop of images naming each other.</summary>
    private const int MostGenerations = 64;

    public static Command Build()
    {
        var imageId = new Argument<string>("IMAGE_ID") { Description = "The image whose history to show" };
        return Leaf.Create("history", "Show what made an image: its CFS session, source image, layers (repository, commit, playbook, reused or run), back to the first image",
            async (context, token) =>
            {
                var generations = new JsonArray();
                var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                string? next = context.ParseResult.GetValue(imageId)!;
                while (next is not null && seen.Add(next) && generations.Count < MostGenerations)
                {
                    var image = await context.Api.GetIfFoundAsync($"{ImsCommands.Base}/images/{Uri.EscapeDataString(next)}", token);
                    if (image is null)
                    {
                        if (generations.Count == 0)
                        {
                            throw new CliException($"Image {next} does not exist.", exitCode: 1);
                        }
                        generations.Add(new JsonObject { ["id"] = next, ["name"] = null, ["created"] = null, ["provenance"] = null, ["note"] = "deleted or unknown to IMS" });
                        break;
                    }
                    var provenance = Provenance(image);
                    generations.Add(new JsonObject
                    {
                        ["id"] = image["id"]?.DeepClone(),
                        ["name"] = image["name"]?.DeepClone(),
                        ["created"] = image["created"]?.DeepClone(),
                        ["provenance"] = provenance,
                    });
                    next = provenance?["source_image"]?["id"]?.GetValue<string>();
                }
                return generations;
            }, imageId);
    }

    /// <summary>The provenance a session recorded, or null for an image no session made (or whose record does not parse).</summary>
    private static JsonObject? Provenance(JsonNode image)
    {
        if (image["metadata"]?[MetadataKey] is not JsonValue value || value.GetValueKind() != JsonValueKind.String)
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(value.GetValue<string>()) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
