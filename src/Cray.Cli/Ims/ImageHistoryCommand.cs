using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Cli.Common;
using Cray.Cli.Output;

namespace Cray.Cli.Ims;

/// <summary>
/// <c>cray ims images history IMAGE_ID</c> (ours): what made an image, from the provenance a CFS
/// image session records in the result's metadata (<c>cfs_provenance</c>), and what made its source,
/// back to an image no session made. Newest first. People read the pretty listing; scripts take JSON (or TOML, YAML).
/// </summary>
public static class ImageHistoryCommand
{
    public const string MetadataKey = "cfs_provenance";

    /// <summary>Far more generations than any site keeps; it also ends a loop of images naming each other.</summary>
    private const int MostGenerations = 64;

    public static Command Build()
    {
        var imageId = new Argument<string>("IMAGE_ID") { Description = "The image whose history to show" };
        var format = new Option<string>("--format")
        {
            Description = "Output format: pretty (a listing), json, toml or yaml",
            HelpName = "FORMAT",
            DefaultValueFactory = _ => ImageDiffCommand.Pretty,
        };
        format.AcceptOnlyFromAmong(ImageDiffCommand.Formats);
        return Leaf.CreateWithOwnOutput("history", "Show what made an image: its CFS session, source image, layers (repository, commit, playbook, reused or run), back to the first image",
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
                var chosen = context.Value(format)!;
                CliHost.Current.Out.Write(chosen == ImageDiffCommand.Pretty ? Render(generations) : OutputFormats.Render(generations, chosen));
                return 0;
            }, imageId, format);
    }

    /// <summary>One block an image, newest first: what session made it from which image, and each layer with its commit and whether it ran or was reused.</summary>
    public static string Render(JsonArray generations)
    {
        var text = new StringBuilder();
        foreach (var generation in generations.OfType<JsonObject>())
        {
            text.AppendLine($"Image {Text(generation["id"])} ({Text(generation["name"])}), created {Text(generation["created"])}");
            if (generation["provenance"] is not JsonObject provenance)
            {
                text.AppendLine($"  {(generation["note"] is { } note ? Text(note) : "not made by a CFS session")}");
                continue;
            }
            var source = provenance["source_image"];
            text.AppendLine($"  made by CFS session {Text(provenance["session"])} (configuration {Text(provenance["configuration"]?["name"])}), "
                + $"{Text(provenance["started"])} to {Text(provenance["finished"])}");
            text.AppendLine($"  from image {Text(source?["id"])} ({Text(source?["name"])}), rootfs md5 {Text(source?["rootfs_md5"])}");
            var groups = (provenance["target_groups"] as JsonArray ?? []).Select(Text).ToList();
            if (groups.Count > 0)
            {
                text.AppendLine($"  groups {string.Join(", ", groups)}");
            }
            foreach (var layer in (provenance["layers"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var commit = Text(layer["commit"]);
                text.AppendLine($"  layer {Text(layer["index"])} ({Text(layer["name"])}): {Text(layer["clone_url"])} {commit[..Math.Min(12, commit.Length)]} {Text(layer["playbook"])}, "
                    + (layer["reused"]?.GetValue<bool>() == true ? "reused from the layer cache" : "ran"));
            }
            text.AppendLine($"  {Text(provenance["ansible"]?["version"])}, cray-server {Text(provenance["server_version"])}");
        }
        return text.ToString();
    }

    private static string Text(JsonNode? node) => node is JsonValue value ? value.ToString() : "";

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
