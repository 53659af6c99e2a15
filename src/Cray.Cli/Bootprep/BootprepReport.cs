using System.Text.Json.Nodes;
using Cray.Cli.Output;
using Spectre.Console;

namespace Cray.Cli.Bootprep;

/// <summary>
/// What a run made, skipped and failed, in the reference's sections; tooling parses the JSON form
/// (<c>images[].final_image_id</c>), people read the pretty one.
/// </summary>
public sealed class BootprepReport
{
    private readonly Lock gate = new();

    public List<JsonObject> Configurations { get; } = [];

    public List<JsonObject> SkippedConfigurations { get; } = [];

    public List<JsonObject> Images { get; } = [];

    public List<JsonObject> SkippedImages { get; } = [];

    public List<JsonObject> SessionTemplates { get; } = [];

    public List<JsonObject> SkippedSessionTemplates { get; } = [];

    /// <summary>One line per failed item: what failed and the command that shows why.</summary>
    public List<string> Failures { get; } = [];

    public void Add(List<JsonObject> section, JsonObject row)
    {
        lock (gate)
        {
            section.Add(row);
        }
    }

    public void Fail(string line)
    {
        lock (gate)
        {
            Failures.Add(line);
        }
    }

    public static JsonObject ImageRow(string name, string? preconfiguredImageId, string? finalImageId, string? configuration, IReadOnlyList<string> groups)
        => new()
        {
            ["name"] = name,
            ["preconfigured_image_id"] = preconfiguredImageId,
            ["final_image_id"] = finalImageId,
            ["configuration"] = configuration,
            ["configuration_group_names"] = new JsonArray([.. groups.Select(group => (JsonNode?)group)]),
        };

    public JsonObject ToJson()
    {
        static JsonArray Array(List<JsonObject> rows) => new([.. rows.Select(row => (JsonNode)row.DeepClone())]);
        lock (gate)
        {
            return new JsonObject
            {
                ["configurations"] = Array(Configurations),
                ["skipped_configurations"] = Array(SkippedConfigurations),
                ["images"] = Array(Images),
                ["skipped_images"] = Array(SkippedImages),
                ["session_templates"] = Array(SessionTemplates),
                ["skipped_session_templates"] = Array(SkippedSessionTemplates),
            };
        }
    }

    public const string Pretty = "pretty";

    public static readonly string[] Formats = [Pretty, OutputFormats.Json, OutputFormats.Yaml];

    public string Render(string format) => format switch
    {
        OutputFormats.Json => OutputFormats.Render(ToJson(), OutputFormats.Json),
        OutputFormats.Yaml => OutputFormats.Render(ToJson(), OutputFormats.Yaml),
        _ => RenderPretty(),
    };

    /// <summary>A table per section that has rows, in plain characters at any width.</summary>
    private string RenderPretty()
    {
        var writer = new StringWriter();
        var console = PlainConsole.Create(writer);
        var report = ToJson();
        var titles = new (string Key, string Title)[]
        {
            ("configurations", "CFS configurations"),
            ("skipped_configurations", "CFS configurations skipped"),
            ("images", "IMS images"),
            ("skipped_images", "IMS images skipped"),
            ("session_templates", "BOS session templates"),
            ("skipped_session_templates", "BOS session templates skipped"),
        };
        foreach (var (key, title) in titles)
        {
            var rows = report[key]!.AsArray().OfType<JsonObject>().ToList();
            if (rows.Count == 0)
            {
                continue;
            }
            var columns = rows.SelectMany(row => row.Select(pair => pair.Key)).Distinct().ToList();
            console.WriteLine(title + ":");
            var table = new Table().Border(TableBorder.Ascii);
            foreach (var column in columns)
            {
                table.AddColumn(column);
            }
            foreach (var row in rows)
            {
                table.AddRow([.. columns.Select(column => Markup.Escape(Cell(row[column])))]);
            }
            console.Write(table);
            console.WriteLine();
        }
        if (writer.GetStringBuilder().Length == 0)
        {
            console.WriteLine("Nothing was created or skipped.");
        }
        return writer.ToString();
    }

    private static string Cell(JsonNode? value) => value switch
    {
        null => "",
        JsonArray list => string.Join(", ", list.Select(item => item?.ToString())),
        _ => value.ToString(),
    };
}
