using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cray.Cli.Bootprep;

/// <summary>The file's problems, every one with its place; nothing was created.</summary>
public sealed class BootprepInputException(string path, IReadOnlyList<string> problems)
    : Exception($"{path}: {problems.Count} problem{(problems.Count == 1 ? "" : "s")}:\n" + string.Join('\n', problems.Select(problem => "  - " + problem)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Reads a checked file into items: the schema first, then the version, then each item with its
/// rendered fields and the checks that need no server. Every problem is collected before any is
/// reported.
/// </summary>
public sealed partial class BootprepInputReader(YamlDocument document, TemplateRenderer renderer)
{
    private readonly List<string> problems = [];
    private readonly List<string> warnings = [];

    public static BootprepInput Read(YamlDocument document, TemplateRenderer renderer) => new BootprepInputReader(document, renderer).Read();

    private BootprepInput Read()
    {
        var schemaProblems = BootprepSchema.Check(document);
        if (schemaProblems.Count > 0)
        {
            throw new BootprepInputException(document.Path, schemaProblems);
        }
        var root = (JsonObject)document.Root!;
        CheckVersion((string?)root["schema_version"]);
        var configurations = Items(root, "configurations", ReadConfiguration);
        var images = Items(root, "images", ReadImage);
        var templates = Items(root, "session_templates", ReadSessionTemplate);
        foreach (var duplicate in configurations.GroupBy(item => item.Name).Where(group => group.Count() > 1))
        {
            Problem(duplicate.Last().Pointer + "/name", $"the configuration name '{duplicate.Key}' is used {duplicate.Count()} times in the file");
        }
        if (problems.Count > 0)
        {
            throw new BootprepInputException(document.Path, problems);
        }
        return new BootprepInput(configurations, images, templates, warnings);
    }

    private void CheckVersion(string? text)
    {
        if (text is null)
        {
            warnings.Add($"{document.Path} has no schema_version; it is read as version {BootprepSchema.Version.ToString(3)}. Add schema_version: {BootprepSchema.Version.ToString(3)}.");
            return;
        }
        if (!Version.TryParse(text, out var version))
        {
            Problem("/schema_version", $"'{text}' is not a version this cray can compare");
            return;
        }
        var supported = BootprepSchema.Version;
        if (version.Major < supported.Major)
        {
            Problem("/schema_version", $"version {text} is of an older major version than this cray reads ({supported.ToString(3)}); update the file to schema {supported.Major}.x");
        }
        else if (version.Major > supported.Major || (version.Major == supported.Major && version.Minor > supported.Minor)
            || (version.Major == supported.Major && version.Minor == supported.Minor && version.Build > supported.Build))
        {
            Problem("/schema_version", $"version {text} is newer than the schema this cray reads ({supported.ToString(3)}); use a newer cray or an older file");
        }
        else if (version.Minor < supported.Minor)
        {
            warnings.Add($"{document.Path} was written for schema {text}, an older minor version than {supported.ToString(3)}; it is read as {supported.ToString(3)}.");
        }
    }

    private static List<T> Items<T>(JsonObject root, string key, Func<JsonObject, string, T?> read) where T : class
        => root[key] is JsonArray list
            ? [.. list.Select((item, index) => read((JsonObject)item!, $"/{key}/{index}")).OfType<T>()]
            : [];

    private void Problem(string pointer, string message) => problems.Add($"{document.Place(pointer)}: {message}");

    private string? Rendered(JsonObject item, string key, string pointer)
    {
        if ((string?)item[key] is not { } template)
        {
            return null;
        }
        var (text, problem) = renderer.Render(template);
        if (problem is not null)
        {
            Problem($"{pointer}/{key}", problem);
        }
        return text;
    }

    private ConfigurationItem? ReadConfiguration(JsonObject item, string pointer)
    {
        var name = Rendered(item, "name", pointer);
        if (name is not null && !ItemName().IsMatch(name))
        {
            Problem(pointer + "/name", $"'{name}' is not a configuration name (letters, digits, '.', '_' and '-')");
        }
        var layers = ((JsonArray)item["layers"]!).Select((layer, index) => ReadLayer((JsonObject)layer!, $"{pointer}/layers/{index}")).ToList();
        InventoryItem? inventory = null;
        if (item["additional_inventory"] is JsonObject additional)
        {
            var inventoryPointer = pointer + "/additional_inventory";
            CheckReference(inventoryPointer, (string?)additional["commit"], (string?)additional["branch"]);
            inventory = new InventoryItem((string?)additional["name"], (string)additional["url"]!, (string?)additional["branch"], (string?)additional["commit"]);
        }
        return name is null || layers.Any(layer => layer is null)
            ? null
            : new ConfigurationItem(pointer, name, (string?)item["description"], layers!, inventory, IfExists(item));
    }

    private LayerItem? ReadLayer(JsonObject layer, string pointer)
    {
        if (layer["product"] is not null)
        {
            Problem(pointer + "/product", "product layers need the reference's product catalog, which this system does not have; give the product's repository with git: {url, branch | commit}");
            return null;
        }
        var name = Rendered(layer, "name", pointer);
        var playbook = Rendered(layer, "playbook", pointer);
        if (playbook is null)
        {
            Problem(pointer, "needs playbook (CFS v3 requires a playbook in every layer)");
        }
        string? url = null, branch, commit;
        if (layer["git"] is JsonObject git)
        {
            // Rendered here though the reference does not: a site's VCS address differs between systems.
            url = Rendered(git, "url", pointer + "/git");
            branch = Rendered(git, "branch", pointer + "/git");
            commit = (string?)git["commit"];
            CheckReference(pointer + "/git", commit, branch);
        }
        else
        {
            branch = (string?)layer["branch"];
            commit = (string?)layer["commit"];
            CheckReference(pointer, commit, branch);
        }
        foreach (var (key, value) in new[] { ("playbook", playbook), ("git/url", url), ("git/branch", branch) })
        {
            if (value is not null && !NoSpaceOrSemicolon().IsMatch(value))
            {
                Problem($"{pointer}/{key}", $"'{value}' has a space or ';', which CFS refuses");
            }
        }
        return new LayerItem(name, playbook, url, (string?)layer["source"], branch, commit, (bool?)layer["special_parameters"]?["ims_require_dkms"]);
    }

    private void CheckReference(string pointer, string? commit, string? branch)
    {
        if (commit is not null && !CommitPattern().IsMatch(commit))
        {
            Problem(pointer + "/commit", $"'{commit}' is not a full commit id (40 lower-case hexadecimal digits)");
        }
        if (branch is { Length: 0 })
        {
            Problem(pointer + "/branch", "renders empty");
        }
    }

    private ImageItem? ReadImage(JsonObject item, string pointer)
    {
        ImageBase? imageBase = null;
        if (item["base"] is JsonObject baseObject)
        {
            if (baseObject["product"] is not null)
            {
                Problem(pointer + "/base/product", "product bases need the reference's product catalog, which this system does not have; give base: {ims: {name | id, type}}");
            }
            else if (baseObject["ims"] is JsonObject ims)
            {
                imageBase = new ImageBase((string?)ims["type"] == "recipe" ? BaseKind.Recipe : BaseKind.Image, (string?)ims["name"], (string?)ims["id"], null);
            }
            else
            {
                imageBase = new ImageBase(BaseKind.ImageReference, null, null, (string?)baseObject["image_ref"]);
            }
        }
        else if (item["ims"] is JsonObject deprecated)
        {
            warnings.Add($"{document.Place(pointer + "/ims")}: ims is deprecated; write base: {{ims: {{name | id, type: image | recipe}}}}.");
            imageBase = new ImageBase((bool?)deprecated["is_recipe"] == true ? BaseKind.Recipe : BaseKind.Image, (string?)deprecated["name"], (string?)deprecated["id"], null);
        }
        var configuration = Rendered(item, "configuration", pointer);
        var groups = (item["configuration_group_names"] as JsonArray)?.Select(group => (string)group!).ToList() ?? [];
        if (imageBase is { Kind: not BaseKind.Recipe } && item["configuration"] is null)
        {
            Problem(pointer, "takes an existing image and names no configuration: there is nothing to build (add configuration and configuration_group_names)");
        }
        return imageBase is null ? null
            : new ImageItem(pointer, (string)item["name"]!, (string?)item["ref_name"], imageBase, configuration, groups, IfExists(item));
    }

    private SessionTemplateItem ReadSessionTemplate(JsonObject item, string pointer)
    {
        var image = item["image"];
        var reference = image is JsonObject ? (string?)image["image_ref"] : null;
        // image.name is the image's name; for an image_ref, the ref_name stands in (templates are only reported here).
        var imageName = image is JsonObject ? (string?)image["ims"]?["name"] ?? (string?)image["ims"]?["id"] ?? reference : (string?)image;
        var extra = new Dictionary<string, object?> { ["image"] = new Dictionary<string, object?> { ["name"] = imageName ?? "" } };
        string? name = null;
        if ((string?)item["name"] is { } template)
        {
            var (text, problem) = renderer.Render(template, extra);
            if (problem is not null)
            {
                Problem(pointer + "/name", problem);
            }
            name = text;
        }
        return new(pointer, name ?? (string)item["name"]!, Rendered(item, "configuration", pointer), reference);
    }

    private static ExistingAction? IfExists(JsonObject item) => (string?)item["if_exists"] switch
    {
        "skip" => ExistingAction.Skip,
        "overwrite" => ExistingAction.Overwrite,
        "abort" => ExistingAction.Abort,
        _ => null,
    };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex ItemName();

    [GeneratedRegex("^[^\\s;]*$")]
    private static partial Regex NoSpaceOrSemicolon();

    [GeneratedRegex("^[a-f0-9]{40}$")]
    private static partial Regex CommitPattern();
}
