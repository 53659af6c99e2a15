using System.CommandLine;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Ims;

/// <summary><c>cray ims …</c>: bound to the v3 API, as the reference CLI is.</summary>
public static class ImsCommands
{
    public const string Base = "apis/ims/v3";

    public static Command Build()
    {
        var ims = Leaf.Group("ims", "Image Management Service",
            Images(),
            Leaf.Group("deleted", "Deleted IMS records",
                DeletedCollection("images", "IMAGE_ID", "Deleted images"),
                DeletedCollection("public-keys", "PUBLIC_KEY_ID", "Deleted public keys"),
                DeletedCollection("recipes", "RECIPE_ID", "Deleted recipes")),
            PublicKeys(),
            RecipeCommands.Build(),
            JobCommands.Build(),
            RemoteBuildNodeCommands.Build());
        var version = Leaf.Group("version", "IMS version", Leaf.Create("list", "Show the IMS version",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Base}/version", cancellationToken: token)));
        version.Hidden = true;
        ims.Subcommands.Add(version);
        return ims;
    }

    private static Command Images()
    {
        var images = Leaf.Group("images", "IMS images", CommonCommands("images", "IMAGE_ID", "image").ToArray());
        images.Subcommands.Add(CreateImage());
        images.Subcommands.Add(UpdateImage());
        images.Subcommands.Add(ImageImportCommand.Build());
        images.Subcommands.Add(ImageHistoryCommand.Build());
        images.Subcommands.Add(ImageDiffCommand.Build());
        return images;
    }

    private static Command PublicKeys()
    {
        var keys = Leaf.Group("public-keys", "IMS public keys", CommonCommands("public-keys", "PUBLIC_KEY_ID", "public key").ToArray());
        var name = new Option<string>("--name") { Description = "Name of the public key", Required = true, HelpName = "NAME" };
        var file = new Option<FileInfo>("--public-key") { Description = "File holding the public key", Required = true, HelpName = "FILENAME" };
        keys.Subcommands.Add(Leaf.Create("create", "Create a public key record", async (context, token) =>
        {
            var path = context.Value(file)!;
            string key;
            try
            {
                key = await File.ReadAllTextAsync(path.FullName, token);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"Invalid value for '--public-key': cannot read {path}: {exception.Message}", showUsage: true);
            }
            var body = new JsonObject { ["name"] = context.Value(name), ["public_key"] = key };
            return await context.Api.SendAsync(HttpMethod.Post, $"{Base}/public-keys", body, cancellationToken: token);
        }, name, file));
        return keys;
    }

    /// <summary>list, describe, delete and deleteall, which every IMS collection has.</summary>
    internal static IEnumerable<Command> CommonCommands(string collection, string idName, string noun)
    {
        yield return Leaf.Create("list", $"List every {noun}",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Base}/{collection}", cancellationToken: token));
        var describeId = new Argument<string>(idName);
        yield return Leaf.Create("describe", $"Show one {noun}",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Base}/{collection}/{Escape(context.ParseResult.GetValue(describeId)!)}", cancellationToken: token),
            describeId);
        var deleteId = new Argument<string>(idName);
        yield return Leaf.Create("delete", $"Delete one {noun} (it can be restored from 'cray ims deleted {collection}')",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{Base}/{collection}/{Escape(context.ParseResult.GetValue(deleteId)!)}", cancellationToken: token),
            deleteId);
        yield return Leaf.Create("deleteall", $"Delete every {noun} (they can be restored from 'cray ims deleted {collection}')",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{Base}/{collection}", cancellationToken: token));
    }

    private static Command DeletedCollection(string collection, string idName, string description)
    {
        var group = Leaf.Group(collection, description);
        group.Subcommands.Add(Leaf.Create("list", $"List deleted {collection}",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Base}/deleted/{collection}", cancellationToken: token)));
        var describeId = new Argument<string>(idName);
        group.Subcommands.Add(Leaf.Create("describe", "Show one deleted record",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Base}/deleted/{collection}/{Escape(context.ParseResult.GetValue(describeId)!)}", cancellationToken: token),
            describeId));
        var deleteId = new Argument<string>(idName);
        group.Subcommands.Add(Leaf.Create("delete", "Permanently delete one deleted record and its artifacts",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{Base}/deleted/{collection}/{Escape(context.ParseResult.GetValue(deleteId)!)}", cancellationToken: token),
            deleteId));
        group.Subcommands.Add(Leaf.Create("deleteall", "Permanently delete every deleted record and its artifacts",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{Base}/deleted/{collection}", cancellationToken: token)));
        var updateId = new Argument<string>(idName);
        var operation = new Option<string>("--operation") { Description = "The operation: undelete", HelpName = "OPERATION" };
        operation.AcceptOnlyFromAmong("undelete");
        group.Subcommands.Add(Leaf.Create("update", "Restore a deleted record (--operation undelete)",
            (context, token) => context.Api.SendAsync(HttpMethod.Patch, $"{Base}/deleted/{collection}/{Escape(context.ParseResult.GetValue(updateId)!)}",
                Body(("operation", context.Value(operation))), cancellationToken: token),
            updateId, operation));
        return group;
    }

    private static Command CreateImage()
    {
        var name = new Option<string>("--name") { Description = "Name of the image", Required = true, HelpName = "NAME" };
        var arch = ArchOption();
        var (linkType, linkPath, linkEtag) = LinkOptions("manifest");
        var metadataKey = new Option<string>("--metadata-key") { Description = "Metadata key", HelpName = "TEXT" };
        var metadataValue = new Option<string>("--metadata-value") { Description = "Metadata value", HelpName = "TEXT" };
        return Leaf.Create("create", "Create an image record", (context, token) =>
        {
            var body = Body(("name", context.Value(name)), ("arch", context.Value(arch)));
            AddIfAny(body, "link", Body(("type", context.Value(linkType)), ("path", context.Value(linkPath)), ("etag", context.Value(linkEtag))));
            AddIfAny(body, "metadata", Body(("key", context.Value(metadataKey)), ("value", context.Value(metadataValue))));
            return context.Api.SendAsync(HttpMethod.Post, $"{Base}/images", body, cancellationToken: token);
        }, name, arch, linkType, linkPath, linkEtag, metadataKey, metadataValue);
    }

    private static Command UpdateImage()
    {
        var id = new Argument<string>("IMAGE_ID");
        var arch = ArchOption();
        var (linkType, linkPath, linkEtag) = LinkOptions("manifest");
        var operation = new Option<string>("--metadata-operation") { Description = "set or remove", HelpName = "OPERATION" };
        operation.AcceptOnlyFromAmong("set", "remove");
        var metadataKey = new Option<string>("--metadata-key") { Description = "Metadata key", HelpName = "TEXT" };
        var metadataValue = new Option<string>("--metadata-value") { Description = "Metadata value", HelpName = "TEXT" };
        return Leaf.Create("update", "Update an image: link it to its manifest, change its arch, set or remove metadata", (context, token) =>
        {
            var body = Body(("arch", context.Value(arch)));
            AddIfAny(body, "link", Body(("type", context.Value(linkType)), ("path", context.Value(linkPath)), ("etag", context.Value(linkEtag))));
            AddIfAny(body, "metadata", Body(("operation", context.Value(operation)), ("key", context.Value(metadataKey)), ("value", context.Value(metadataValue))));
            return context.Api.SendAsync(HttpMethod.Patch, $"{Base}/images/{Escape(context.ParseResult.GetValue(id)!)}", body, cancellationToken: token);
        }, id, arch, linkType, linkPath, linkEtag, operation, metadataKey, metadataValue);
    }

    internal static Option<string> ArchOption()
    {
        var arch = new Option<string>("--arch") { Description = "Architecture: aarch64 or x86_64", HelpName = "ARCH" };
        arch.AcceptOnlyFromAmong("aarch64", "x86_64");
        return arch;
    }

    /// <summary>The <c>--link-*</c> options of a record whose link names <paramref name="target"/>.</summary>
    internal static (Option<string> Type, Option<string> Path, Option<string> Etag) LinkOptions(string target)
    {
        var type = new Option<string>("--link-type") { Description = "Link type (s3)", HelpName = "TEXT" };
        var path = new Option<string>("--link-path") { Description = $"Path of the {target}, s3://bucket/key", HelpName = "TEXT" };
        var etag = new Option<string>("--link-etag") { Description = $"ETag of the {target}", HelpName = "TEXT" };
        return (type, path, etag);
    }

    /// <summary>A JSON object of the given members, leaving out those not given (the reference omits None).</summary>
    internal static JsonObject Body(params (string Name, JsonNode? Value)[] members)
    {
        var body = new JsonObject();
        foreach (var (name, value) in members)
        {
            if (value is not null)
            {
                body[name] = value;
            }
        }
        return body;
    }

    private static void AddIfAny(JsonObject body, string name, JsonObject member)
    {
        if (member.Count > 0)
        {
            body[name] = member;
        }
    }

    internal static string Escape(string segment) => Uri.EscapeDataString(segment);
}
