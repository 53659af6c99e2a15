using System.Text.Json.Nodes;

namespace Cray.Cfs;

/// <summary>Helpers for the response shapes: the reference serves objects with sorted keys.</summary>
public static class JsonShapes
{
    /// <summary>Returns a copy with the keys of every object in ordinal order, as the reference's JSON encoder writes them.</summary>
    public static JsonNode? SortKeys(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => KeyValuePair.Create(pair.Key, SortKeys(pair.Value)))),
        JsonArray array => new JsonArray(array.Select(SortKeys).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };

    /// <summary>Renames a key in place, keeping its value; no-op when absent.</summary>
    public static void Rename(JsonObject obj, string from, string to)
    {
        if (obj.Remove(from, out var value))
        {
            obj[to] = value;
        }
    }
}
