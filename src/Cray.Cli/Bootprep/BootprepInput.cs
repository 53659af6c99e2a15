using System.Text.Json.Nodes;

namespace Cray.Cli.Bootprep;

/// <summary>What to do with an item whose name exists.</summary>
public enum ExistingAction
{
    Create,
    Skip,
    Overwrite,
    Abort,
}

/// <summary>A CFS configuration of the file, rendered; <see cref="Pointer"/> says where it is.</summary>
public sealed record ConfigurationItem(string Pointer, string Name, string? Description, IReadOnlyList<LayerItem> Layers,
    InventoryItem? AdditionalInventory, ExistingAction? IfExists)
{
    /// <summary>The v3 PUT body.</summary>
    public JsonObject RequestBody()
    {
        var body = new JsonObject { ["layers"] = new JsonArray([.. Layers.Select(layer => (JsonNode)layer.RequestBody())]) };
        if (Description is not null)
        {
            body["description"] = Description;
        }
        if (AdditionalInventory is not null)
        {
            body["additional_inventory"] = AdditionalInventory.RequestBody();
        }
        return body;
    }
}

public sealed record LayerItem(string? Name, string? Playbook, string? CloneUrl, string? Source, string? Branch, string? Commit, bool? RequireDkms)
{
    public JsonObject RequestBody()
    {
        var body = new JsonObject();
        Add(body, "name", Name);
        Add(body, "clone_url", CloneUrl);
        Add(body, "source", Source);
        Add(body, "playbook", Playbook);
        Add(body, "commit", Commit);
        Add(body, "branch", Branch);
        if (RequireDkms is not null)
        {
            body["special_parameters"] = new JsonObject { ["ims_require_dkms"] = RequireDkms };
        }
        return body;
    }

    internal static void Add(JsonObject body, string key, string? value)
    {
        if (value is not null)
        {
            body[key] = value;
        }
    }
}

public sealed record InventoryItem(string? Name, string CloneUrl, string? Branch, string? Commit)
{
    public JsonObject RequestBody()
    {
        var body = new JsonObject();
        LayerItem.Add(body, "name", Name);
        LayerItem.Add(body, "clone_url", CloneUrl);
        LayerItem.Add(body, "commit", Commit);
        LayerItem.Add(body, "branch", Branch);
        return body;
    }
}

public enum BaseKind
{
    Image,
    Recipe,
    ImageReference,
}

/// <summary>An image's base: an IMS image or recipe (by name or id), or another image of the file (by its ref_name).</summary>
public sealed record ImageBase(BaseKind Kind, string? Name, string? Id, string? ImageReference)
{
    public string Describe() => Kind switch
    {
        BaseKind.ImageReference => $"image_ref {ImageReference}",
        _ => $"IMS {(Kind == BaseKind.Recipe ? "recipe" : "image")} {(Name is null ? "id " + Id : "'" + Name + "'")}",
    };
}

/// <summary>An image of the file; its name is rendered later, when <c>base.name</c> is known.</summary>
public sealed record ImageItem(string Pointer, string NameTemplate, string? ReferenceName, ImageBase Base, string? Configuration,
    IReadOnlyList<string> GroupNames, ExistingAction? IfExists);

/// <summary>A BOS session template of the file: checked, then reported as skipped (there is no BOS here).</summary>
public sealed record SessionTemplateItem(string Pointer, string Name, string? Configuration, string? ImageReference);

/// <summary>The file's items, read and rendered.</summary>
public sealed record BootprepInput(IReadOnlyList<ConfigurationItem> Configurations, IReadOnlyList<ImageItem> Images,
    IReadOnlyList<SessionTemplateItem> SessionTemplates, IReadOnlyList<string> Warnings);
