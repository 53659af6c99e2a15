using System.Text.Json.Serialization;

namespace Cray.Ims.Model;

// Properties are declared in alphabetical order: the reference serves its records with sorted keys,
// and the CLI prints keys in the order the server sends them.

public sealed record ArtifactLink(
    [property: JsonPropertyName("etag")] string Etag,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("type")] string Type)
{
    public const string S3Type = "s3";

    public static ArtifactLink S3(string path, string? etag = null) => new(etag ?? "", path, S3Type);

    /// <summary>Two links name the same artifact when their path and type agree; the etag is informational.</summary>
    public bool SameTarget(ArtifactLink other) => Path == other.Path && Type == other.Type;
}

public sealed record Image(
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("link")] ArtifactLink? Link,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string> Metadata,
    [property: JsonPropertyName("name")] string Name)
{
    public DeletedImage ToDeleted(string deleted, ArtifactLink? link) => new(Arch, Created, deleted, Id, link, Metadata, Name);
}

public sealed record DeletedImage(
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("deleted")] string Deleted,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("link")] ArtifactLink? Link,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string> Metadata,
    [property: JsonPropertyName("name")] string Name)
{
    public Image ToImage(ArtifactLink? link) => new(Arch, Created, Id, link, Metadata, Name);
}

public sealed record PublicKey(
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("public_key")] string Key)
{
    public DeletedPublicKey ToDeleted(string deleted) => new(Created, deleted, Id, Name, Key);
}

public sealed record DeletedPublicKey(
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("deleted")] string Deleted,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("public_key")] string Key)
{
    public PublicKey ToPublicKey() => new(Created, Id, Name, Key);
}

/// <summary>One template variable of a recipe: create jobs fill the recipe's <c>{{ key }}</c> placeholders with these.</summary>
public sealed record TemplateDictionaryEntry(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("value")] string Value);

public sealed record Recipe(
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("link")] ArtifactLink? Link,
    [property: JsonPropertyName("linux_distribution")] string LinuxDistribution,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("recipe_type")] string RecipeType,
    [property: JsonPropertyName("require_dkms")] bool RequireDkms,
    [property: JsonPropertyName("template_dictionary")] IReadOnlyList<TemplateDictionaryEntry> TemplateDictionary)
{
    public DeletedRecipe ToDeleted(string deleted, ArtifactLink? link)
        => new(Arch, Created, deleted, Id, link, LinuxDistribution, Name, RecipeType, RequireDkms, TemplateDictionary);
}

public sealed record DeletedRecipe(
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("deleted")] string Deleted,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("link")] ArtifactLink? Link,
    [property: JsonPropertyName("linux_distribution")] string LinuxDistribution,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("recipe_type")] string RecipeType,
    [property: JsonPropertyName("require_dkms")] bool RequireDkms,
    [property: JsonPropertyName("template_dictionary")] IReadOnlyList<TemplateDictionaryEntry> TemplateDictionary)
{
    public Recipe ToRecipe(ArtifactLink? link) => new(Arch, Created, Id, link, LinuxDistribution, Name, RecipeType, RequireDkms, TemplateDictionary);
}

public static class RecipeTypes
{
    public const string KiwiNg = "kiwi-ng";

    public static readonly string[] All = [KiwiNg, "packer"];
}

public static class LinuxDistributions
{
    public static readonly string[] All = ["centos7", "sles12", "sles15"];
}

public static class Architectures
{
#pragma warning disable CA1707 // Named as the value reads.
    public const string X86_64 = "x86_64";
#pragma warning restore CA1707
    public const string Aarch64 = "aarch64";

    public static readonly string[] All = [Aarch64, X86_64];
}

public static class ImsCollections
{
    public const string Images = "ims.images";
    public const string DeletedImages = "ims.deleted_images";
    public const string PublicKeys = "ims.public_keys";
    public const string DeletedPublicKeys = "ims.deleted_public_keys";
    public const string Recipes = "ims.recipes";
    public const string DeletedRecipes = "ims.deleted_recipes";
}
