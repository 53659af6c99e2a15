using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Cray.Cli.Common;
using Cray.Cli.Output;

namespace Cray.Cli.Ims;

/// <summary>
/// <c>cray ims images diff IMAGE_ID OTHER_IMAGE_ID</c> (ours): what changed between two images, files and
/// packages. People read the pretty listing, a diff's lines; scripts take the API's JSON (or TOML, YAML).
/// </summary>
public static class ImageDiffCommand
{
    public const string Pretty = "pretty";

    public static readonly string[] Formats = [Pretty, OutputFormats.Json, OutputFormats.Toml, OutputFormats.Yaml];

    public static Command Build()
    {
        var from = new Argument<string>("IMAGE_ID");
        var to = new Argument<string>("OTHER_IMAGE_ID");
        var format = new Option<string>("--format")
        {
            Description = "Output format: pretty (a listing), json, toml or yaml",
            HelpName = "FORMAT",
            DefaultValueFactory = _ => Pretty,
        };
        format.AcceptOnlyFromAmong(Formats);
        return Leaf.CreateWithOwnOutput("diff", "List the files and packages added, removed and changed from one image to another", async (context, token) =>
        {
            var path = $"{ImsCommands.Base}/images/{ImsCommands.Escape(context.ParseResult.GetValue(from)!)}/diff/{ImsCommands.Escape(context.ParseResult.GetValue(to)!)}";
            var difference = await context.Api.SendAsync(HttpMethod.Get, path, cancellationToken: token);
            var chosen = context.Value(format)!;
            CliHost.Current.Out.Write(chosen == Pretty ? Render(difference) : OutputFormats.Render(difference, chosen));
            return 0;
        }, from, to, format);
    }

    /// <summary>
    /// The images, then one line a path in path order (<c>+</c> added, <c>-</c> removed, <c>~</c> changed
    /// with what changed), then one line a package (<c>↑</c> upgraded, <c>↓</c> downgraded), the notes, and the counts.
    /// </summary>
    public static string Render(JsonNode? difference)
    {
        var text = new StringBuilder();
        text.AppendLine($"From image {Side(difference?["from"])} to image {Side(difference?["to"])}");
        var files = difference?["files"];
        var added = Items(files?["added"]);
        var removed = Items(files?["removed"]);
        var changed = Items(files?["changed"]);
        var lines = added.Select(entry => (Path: Text(entry["path"]), Line: $"+ {Entry(entry)}"))
            .Concat(removed.Select(entry => (Path: Text(entry["path"]), Line: $"- {Entry(entry)}")))
            .Concat(changed.Select(change => (Path: Text(change["path"]), Line: $"~ {Text(change["path"])} ({Changes(change["changes"])})")))
            .OrderBy(line => line.Path, StringComparer.Ordinal).ToList();
        var summary = $"Files: {added.Count} added, {removed.Count} removed, {changed.Count} changed.";
        if (lines.Count > 0)
        {
            text.AppendLine().AppendLine("Files:");
            foreach (var (_, line) in lines)
            {
                text.AppendLine(line);
            }
        }
        if (difference?["packages"] is JsonObject packages)
        {
            var packagesAdded = Items(packages["added"]);
            var packagesRemoved = Items(packages["removed"]);
            var upgraded = Items(packages["upgraded"]);
            var downgraded = Items(packages["downgraded"]);
            var manager = Text(packages["manager"]);
            var packageLines = packagesAdded.Select(package => (Name: Text(package["name"]), Line: $"+ {Package(package, Text(package["version"]))}"))
                .Concat(packagesRemoved.Select(package => (Name: Text(package["name"]), Line: $"- {Package(package, Text(package["version"]))}")))
                .Concat(upgraded.Select(package => (Name: Text(package["name"]), Line: $"↑ {Package(package, $"{Text(package["from"])} → {Text(package["to"])}")}")))
                .Concat(downgraded.Select(package => (Name: Text(package["name"]), Line: $"↓ {Package(package, $"{Text(package["from"])} → {Text(package["to"])}")}")))
                .OrderBy(line => line.Name, StringComparer.Ordinal).ToList();
            if (packageLines.Count > 0)
            {
                text.AppendLine().AppendLine($"Packages ({manager}):");
                foreach (var (_, line) in packageLines)
                {
                    text.AppendLine(line);
                }
            }
            summary += $" Packages ({manager}): {packagesAdded.Count} added, {packagesRemoved.Count} removed, {upgraded.Count} upgraded, {downgraded.Count} downgraded.";
        }
        var notes = (difference?["notes"] as JsonArray ?? []).Select(Text).Where(note => note.Length > 0).ToList();
        if (notes.Count > 0)
        {
            text.AppendLine();
            foreach (var note in notes)
            {
                text.AppendLine($"Note: {Text(note)}");
            }
        }
        return text.AppendLine().AppendLine(summary).ToString();
    }

    private static List<JsonNode> Items(JsonNode? list) => (list as JsonArray ?? []).OfType<JsonObject>().Cast<JsonNode>().ToList();

    private static string Text(JsonNode? node) => node is JsonValue value ? value.ToString() : "";

    private static string Side(JsonNode? side) => $"{Text(side?["id"])} ({Text(side?["name"])})";

    /// <summary>A path as <c>ls -F</c> marks it: a directory with a slash, a link with its target, a device with its number.</summary>
    private static string Entry(JsonNode entry) => Text(entry["type"]) switch
    {
        "directory" => Text(entry["path"]) + "/",
        "symlink" => $"{Text(entry["path"])} -> {Text(entry["link_target"])}",
        "block_device" or "character_device" => $"{Text(entry["path"])} ({Text(entry["type"]).Replace('_', ' ')} {Text(entry["device"])})",
        "file" => Text(entry["path"]),
        var other => $"{Text(entry["path"])} ({other})",
    };

    private static readonly (string Key, string Label)[] ChangeLabels =
    [
        ("type", "type"), ("mode", "mode"), ("uid", "uid"), ("gid", "gid"), ("size", "size"), ("link_target", "link"), ("device", "device"),
    ];

    private static string Changes(JsonNode? changes)
    {
        var parts = new List<string>();
        foreach (var (key, label) in ChangeLabels)
        {
            if (changes?[key] is JsonArray { Count: 2 } pair)
            {
                parts.Add($"{label} {Text(pair[0])}→{Text(pair[1])}");
            }
        }
        if (changes?["sha256"] is JsonArray)
        {
            parts.Add("content");
        }
        if (changes?["xattrs"] is JsonArray names)
        {
            parts.Add($"xattrs {string.Join(' ', names.Select(Text))}");
        }
        return string.Join(", ", parts);
    }

    private static string Package(JsonNode package, string version)
        => Text(package["architecture"]) is { Length: > 0 } architecture ? $"{Text(package["name"])} {version} ({architecture})" : $"{Text(package["name"])} {version}";
}
