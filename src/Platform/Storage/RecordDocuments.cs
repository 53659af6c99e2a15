using System.Collections.Immutable;
using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Platform.Json;

namespace Cray.Platform.Storage;

/// <summary>A record as both stores keep it: JSON text written and read with the records' serializer settings.</summary>
internal static class RecordDocuments
{
    public static string Serialize(object? record)
        => JsonSerializer.Serialize(record ?? throw new ArgumentNullException(nameof(record)), record.GetType(), RecordJson.Options);

    public static T Deserialize<T>(string document) => JsonSerializer.Deserialize<T>(document, RecordJson.Options)!;

    /// <summary>Every row's id and document text (its first two columns), read before any is deserialized.</summary>
    public static async Task<List<(string Id, string Body)>> ReadIdsAndBodiesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<(string Id, string Body)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }
        return rows;
    }

    /// <summary>
    /// The string and boolean values of a containment pattern with the property names leading to
    /// each: what a store without JSON containment compares one by one.
    /// </summary>
    public static IEnumerable<(IReadOnlyList<string> Path, object Value)> Leaves(JsonObject pattern, ImmutableList<string>? prefix = null)
    {
        prefix ??= [];
        foreach (var (name, node) in pattern)
        {
            var path = prefix.Add(name);
            switch (node)
            {
                case JsonObject inner:
                    foreach (var leaf in Leaves(inner, path))
                    {
                        yield return leaf;
                    }
                    break;
                case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                    yield return (path, value.GetValue<string>());
                    break;
                case JsonValue value when value.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                    yield return (path, value.GetValue<bool>());
                    break;
            }
        }
    }

    /// <summary>The value of a record's stage column (a database null when it has none).</summary>
    public static object StageOf(object? record) => (object?)(record as IStagedRecord)?.Stage ?? DBNull.Value;

    /// <summary>Every row's first column, read as a record.</summary>
    public static async Task<List<T>> ReadAllAsync<T>(DbCommand command, CancellationToken cancellationToken)
    {
        var records = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(Deserialize<T>(reader.GetString(0)));
        }
        return records;
    }
}
