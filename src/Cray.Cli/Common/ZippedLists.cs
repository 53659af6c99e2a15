using System.Text.Json.Nodes;

namespace Cray.Cli.Common;

/// <summary>One member of a list of objects, given as a comma list such as <c>--template-dictionary-key a,b</c>.</summary>
public sealed record ZippedField(string OptionName, string Member, string? Text, Func<string, JsonNode?> Convert)
{
    public static ZippedField Strings(string optionName, string member, string? text) => new(optionName, member, text, item => item);

    public static ZippedField Booleans(string optionName, string member, string? text)
        => new(optionName, member, text, item => BooleanText.TryParse(item, out var value)
            ? value
            : throw new CliException($"Invalid value for '{optionName}': '{item}' is not a valid boolean.", showUsage: true));
}

/// <summary>
/// The reference CLI's options for a list of objects: one comma list per member, zipped by index into
/// objects. Items are trimmed; lists of different lengths are a usage error that names a shorter one.
/// </summary>
public static class ZippedLists
{
    /// <summary>The objects, each with only the members whose option was given; null when none was.</summary>
    public static JsonArray? Zip(params ZippedField[] fields)
    {
        var given = fields
            .Where(field => field.Text is not null)
            .Select(field => (Field: field, Items: field.Text!.Split(',').Select(item => item.Trim()).ToList()))
            .ToList();
        if (given.Count == 0)
        {
            return null;
        }
        var count = given.Max(list => list.Items.Count);
        var shorter = given.FirstOrDefault(list => list.Items.Count < count).Field;
        if (shorter is not null)
        {
            throw new CliException($"Invalid value: Missing parameter: {shorter.OptionName}", showUsage: true);
        }
        var objects = new JsonArray();
        for (var index = 0; index < count; index++)
        {
            var item = new JsonObject();
            foreach (var (field, items) in given)
            {
                item[field.Member] = field.Convert(items[index]);
            }
            objects.Add(item);
        }
        return objects;
    }
}
