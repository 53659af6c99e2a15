using Cray.Cfs.Model;

namespace Cray.Cfs.Runner;

/// <summary>
/// The layers a session runs, from its configuration_limit, as cfs.md §5 says: all numeric tokens
/// are 0-based indices run in ascending order (out of range ignored, duplicates kept); otherwise a
/// layer is kept when its name is a substring of the whole limit (unnamed layers always are).
/// </summary>
public static class LayerSelection
{
    public static List<(int Index, ConfigurationLayer Layer)> Select(IReadOnlyList<ConfigurationLayer> layers, string limit)
    {
        var all = layers.Select((layer, index) => (index, layer)).ToList();
        if (string.IsNullOrWhiteSpace(limit))
        {
            return all;
        }
        var tokens = limit.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length > 0 && tokens.All(token => token.All(char.IsAsciiDigit)))
        {
            return tokens.Select(int.Parse).Order().Where(index => index < layers.Count).Select(index => (index, layers[index])).ToList();
        }
        return all.Where(entry => entry.layer.Name is not { } name || limit.Contains(name, StringComparison.Ordinal)).ToList();
    }
}
