using System.Text.Json.Nodes;

namespace Cray.Cfs.Options;

/// <summary>The options in each API version's names: PATCH bodies read, answers shaped.</summary>
public static class OptionsRequests
{
    /// <summary>
    /// Reads a PATCH body in the version's names and returns the changes in the stored names:
    /// v2 uses camelCase and lacks the v3-only options; in v3 default_playbook is read-only.
    /// </summary>
    public static IReadOnlyDictionary<string, JsonNode?> ParsePatch(JsonNode? body, CfsApiVersion version)
    {
        var reader = SchemaReader.Of(body, "");
        var byRequestName = OptionsService.Definitions
            .Where(definition => version == CfsApiVersion.V3 || definition.V2Name is not null)
            .ToDictionary(definition => version == CfsApiVersion.V3 ? definition.Name : definition.V2Name!);
        reader.Only(byRequestName.Keys.Where(name => !(version == CfsApiVersion.V3 && name == "default_playbook")).ToList(),
            version == CfsApiVersion.V3 ? ["default_playbook"] : null);
        foreach (var (name, definition) in byRequestName)
        {
            if (reader.Has(name))
            {
                definition.Check(reader, name);
            }
        }
        return reader.Body.ToDictionary(pair => byRequestName[pair.Key].Name, pair => pair.Value?.DeepClone());
    }

    /// <summary>
    /// The options in a version's shape: v2 uses camelCase and lacks the v3-only options. Ours
    /// (<see cref="OptionDefinition.Extension"/>) only when asked for: the reference's schema allows
    /// no other property, and a client generated from it would refuse the answer.
    /// </summary>
    public static JsonObject Shape(JsonObject options, CfsApiVersion version, bool withExtensions)
    {
        var shaped = new JsonObject();
        foreach (var definition in OptionsService.Definitions.Where(definition => withExtensions || !definition.Extension))
        {
            var name = version == CfsApiVersion.V3 ? definition.Name : definition.V2Name;
            if (name is not null)
            {
                shaped[name] = options[definition.Name]?.DeepClone();
            }
        }
        return (JsonObject)JsonShapes.SortKeys(shaped)!;
    }
}
