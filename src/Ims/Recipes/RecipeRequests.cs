using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Ims.Model;
using Cray.Ims.Validation;

namespace Cray.Ims.Recipes;

public sealed record RecipeCreate(
    string Name,
    string RecipeType,
    string LinuxDistribution,
    ArtifactLink? Link,
    string Arch,
    bool RequireDkms,
    IReadOnlyList<TemplateDictionaryEntry> TemplateDictionary);

/// <summary>What one PATCH asks for; null members are left as they are.</summary>
public sealed record RecipePatch(ArtifactLink? Link, string? Arch, bool? RequireDkms, IReadOnlyList<TemplateDictionaryEntry>? TemplateDictionary);

/// <summary>Turns request bodies into recipe requests with the reference's checks and messages.</summary>
public static class RecipeRequests
{
    private static readonly string[] CreateFields = ["name", "recipe_type", "linux_distribution", "link", "arch", "require_dkms", "template_dictionary"];
    private static readonly string[] EntryFields = ["key", "value"];
    private static readonly string ArchMessage = FieldErrors.MustBeOneOf(Architectures.All);

    public static RecipeCreate ParseCreate(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        var errors = new FieldErrors();
        JsonFields.RejectUnknown(body, CreateFields, errors);
        var name = JsonFields.RequiredNonBlank(body, "name", errors);
        var recipeType = JsonFields.RequiredOneOf(body, "recipe_type", RecipeTypes.All, errors);
        var distribution = JsonFields.RequiredOneOf(body, "linux_distribution", LinuxDistributions.All, errors);
        var link = body["link"] is null ? null : ArtifactLinks.Parse(body["link"], errors);
        var arch = JsonFields.OneOf(body, "arch", Architectures.All, ArchMessage, errors) ?? Architectures.X86_64;
        var requireDkms = JsonFields.OptionalBool(body, "require_dkms", errors) ?? true;
        var templateDictionary = body["template_dictionary"] is null ? [] : ParseTemplateDictionary(body["template_dictionary"], errors);
        errors.ThrowIfAny();
        return new RecipeCreate(name!, recipeType!, distribution!, link, arch, requireDkms, templateDictionary!);
    }

    public static RecipePatch ParsePatch(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        ArtifactLink? link = null;
        string? arch = null;
        bool? requireDkms = null;
        IReadOnlyList<TemplateDictionaryEntry>? templateDictionary = null;
        foreach (var (field, value) in body)
        {
            var errors = new FieldErrors();
            switch (field)
            {
                case "link":
                    link = ArtifactLinks.Parse(value, errors);
                    break;
                case "arch":
                    arch = JsonFields.OneOf(body, "arch", Architectures.All, ArchMessage, errors);
                    break;
                case "require_dkms":
                    requireDkms = JsonFields.OptionalBool(body, "require_dkms", errors);
                    if (value is null)
                    {
                        errors.Add("require_dkms", FieldErrors.NotNullable);
                    }
                    break;
                case "template_dictionary":
                    templateDictionary = ParseTemplateDictionary(value, errors);
                    break;
                default:
                    throw ImsProblems.Unsupported(
                        $"Unsupported patch field '{field}'. A recipe PATCH accepts link, arch, require_dkms and template_dictionary.");
            }
            errors.ThrowIfAny();
        }
        return new RecipePatch(link, arch, requireDkms, templateDictionary);
    }

    /// <summary>A list of <c>{"key": K, "value": V}</c> objects, both strings; errors are reported by list index.</summary>
    private static List<TemplateDictionaryEntry>? ParseTemplateDictionary(JsonNode? node, FieldErrors errors)
    {
        if (node is not JsonArray list)
        {
            errors.Add("template_dictionary", FieldErrors.NotAList);
            return null;
        }
        var entries = new List<TemplateDictionaryEntry>();
        var listErrors = new FieldErrors();
        for (var index = 0; index < list.Count; index++)
        {
            var position = index.ToString(CultureInfo.InvariantCulture);
            if (list[index] is not JsonObject entry)
            {
                listErrors.Add(position, FieldErrors.NotAnObject);
                continue;
            }
            var entryErrors = new FieldErrors();
            JsonFields.RejectUnknown(entry, EntryFields, entryErrors);
            var key = JsonFields.RequiredString(entry, "key", entryErrors);
            var value = JsonFields.RequiredString(entry, "value", entryErrors);
            listErrors.AddNested(position, entryErrors);
            if (!entryErrors.Any)
            {
                entries.Add(new TemplateDictionaryEntry(key!, value!));
            }
        }
        errors.AddNested("template_dictionary", listErrors);
        return listErrors.Any ? null : entries;
    }
}
