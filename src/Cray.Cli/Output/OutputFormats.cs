using System.Text.Json.Nodes;

namespace Cray.Cli.Output;

/// <summary>Renders a command's result in the format the user chose, as the reference CLI shapes it.</summary>
public static class OutputFormats
{
    public const string Json = "json";
    public const string Toml = "toml";
    public const string Yaml = "yaml";
    public static readonly string[] All = [Json, Toml, Yaml];

    /// <summary>Null means an empty result (a 204), printed as an empty line.</summary>
    public static string Render(JsonNode? result, string format)
    {
        if (result is null)
        {
            return "\n";
        }
        return format switch
        {
            Json => PythonJson.Format(result) + "\n",
            Yaml => PythonYaml.Format(result),
            // TOML has no top-level list: the reference wraps lists as {results: [...]}.
            _ => PythonToml.Format(result as JsonObject ?? new JsonObject { ["results"] = result.DeepClone() }),
        };
    }
}
