using System.Text.Json;
using Cray.Cli.Artifacts;
using Cray.Cli.Common;
using Cray.Cli.Configuration;

namespace Cray.Cli.Ims;

/// <summary>
/// A note, kept while an import runs, of the image record and the objects it has made. An import
/// that fails or is interrupted removes them itself; one that is killed outright cannot, so the
/// next import against the same server removes what the note names, unless the record was linked
/// after all. No image record without its files is left behind for long.
/// </summary>
public static class UnfinishedImports
{
    private sealed record Note(string Hostname, string ImageId, List<string> Keys);

    private static string NotesDirectory => Path.Combine(CrayConfiguration.Directory, "unfinished-imports");

    private static string NotePath(string imageId) => Path.Combine(NotesDirectory, imageId + ".json");

    /// <summary>Writes the note before each object is uploaded, so that it always names at least what exists.</summary>
    public static void Record(string hostname, string imageId, IReadOnlyList<string> keys)
    {
        Directory.CreateDirectory(NotesDirectory);
        var temporary = NotePath(imageId) + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(new Note(hostname, imageId, [.. keys])));
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, NotePath(imageId), overwrite: true);
    }

    public static void Forget(string imageId) => File.Delete(NotePath(imageId));

    /// <summary>Removes what earlier imports against this server left unlinked, and forgets their notes.</summary>
    public static async Task CleanUpAsync(CliContext context, string hostname, string bucket, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(NotesDirectory))
        {
            return;
        }
        foreach (var path in Directory.EnumerateFiles(NotesDirectory, "*.json"))
        {
            Note? note;
            try
            {
                note = JsonSerializer.Deserialize<Note>(await File.ReadAllTextAsync(path, cancellationToken));
            }
            catch (JsonException)
            {
                File.Delete(path);
                continue;
            }
            if (note is null || note.Hostname != hostname || !Guid.TryParse(note.ImageId, out _))
            {
                continue;
            }
            var image = await FindImageAsync(context, note.ImageId, cancellationToken);
            if (image is not null && image["link"] is null)
            {
                await RemoveAsync(context, bucket, note.ImageId, note.Keys, cancellationToken);
                CliHost.Current.Error.WriteLine($"Removed image {note.ImageId} and its {note.Keys.Count} uploaded files: an earlier import stopped before it linked them.");
            }
            Forget(note.ImageId);
        }
    }

    /// <summary>Deletes an unfinished import's objects (those already gone are fine), then its image record; throws when the record could not be deleted.</summary>
    public static async Task RemoveAsync(CliContext context, string bucket, string imageId, IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        foreach (var key in keys)
        {
            await ArtifactTransfers.DeleteQuietlyAsync(context, bucket, key);
        }
        await context.Api.SendAsync(HttpMethod.Delete, $"apis/ims/v2/images/{imageId}", query: [new("cascade", "false")], cancellationToken: cancellationToken);
    }

    private static async Task<System.Text.Json.Nodes.JsonNode?> FindImageAsync(CliContext context, string imageId, CancellationToken cancellationToken)
    {
        try
        {
            return await context.Api.SendAsync(HttpMethod.Get, $"{ImsCommands.Base}/images/{imageId}", cancellationToken: cancellationToken);
        }
        catch (CliException exception) when (exception.Message.StartsWith("Not Found", StringComparison.Ordinal))
        {
            return null;
        }
    }
}
