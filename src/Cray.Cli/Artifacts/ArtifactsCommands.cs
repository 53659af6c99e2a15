using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Artifacts;

/// <summary><c>cray artifacts …</c>, with the reference's output shapes (which come from S3's responses).</summary>
public static class ArtifactsCommands
{
    public static Command Build()
    {
        var artifacts = Leaf.Group("artifacts", "Manage artifacts in the artifact repository (S3-style buckets)");
        artifacts.Subcommands.Add(Leaf.Group("buckets", "Bucket commands",
            Leaf.Create("list", "List buckets", async (context, token) =>
            {
                var buckets = await context.Api.SendAsync(HttpMethod.Get, ArtifactTransfers.Base, cancellationToken: token) as JsonArray ?? [];
                return new JsonArray(buckets.Select(bucket => (JsonNode?)JsonValue.Create(bucket?["name"]?.GetValue<string>())).ToArray());
            })));

        var listBucket = Bucket();
        artifacts.Subcommands.Add(Leaf.Create("list", "List objects in a bucket", async (context, token) =>
        {
            var objects = await context.Api.SendAsync(HttpMethod.Get, $"{ArtifactTransfers.Base}/{Uri.EscapeDataString(context.ParseResult.GetValue(listBucket)!)}", cancellationToken: token);
            return new JsonObject { ["artifacts"] = objects ?? new JsonArray() };
        }, listBucket));

        var describeBucket = Bucket();
        var describeKey = Key();
        artifacts.Subcommands.Add(Leaf.Create("describe", "View metadata about an object from a bucket", async (context, token) =>
        {
            var bucket = context.ParseResult.GetValue(describeBucket)!;
            var key = context.ParseResult.GetValue(describeKey)!;
            using var request = new HttpRequestMessage(HttpMethod.Head, context.Api.Url(ArtifactTransfers.ObjectPath(bucket, key)));
            using var response = await context.Api.SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
            var metadata = new JsonObject();
            foreach (var (name, values) in response.Headers)
            {
                if (name.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase))
                {
                    metadata[name["x-amz-meta-".Length..].ToLowerInvariant()] = string.Join(",", values);
                }
            }
            var lastModified = response.Content.Headers.LastModified?.ToUniversalTime();
            return new JsonObject
            {
                ["artifact"] = new JsonObject
                {
                    ["AcceptRanges"] = "bytes",
                    ["LastModified"] = lastModified?.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture),
                    ["ContentLength"] = response.Content.Headers.ContentLength ?? 0,
                    ["ETag"] = response.Headers.ETag?.Tag,
                    ["ContentType"] = response.Content.Headers.ContentType?.MediaType,
                    ["Metadata"] = metadata,
                },
            };
        }, describeBucket, describeKey));

        var createBucket = Bucket();
        var createKey = Key();
        var createFile = new Argument<string>("FILEPATH");
        artifacts.Subcommands.Add(Leaf.Create("create", "Create a new object in a bucket from a file", async (context, token) =>
        {
            var key = context.ParseResult.GetValue(createKey)!;
            var file = context.ParseResult.GetValue(createFile)!;
            if (!File.Exists(file))
            {
                throw new CliException($"Invalid value for 'FILEPATH': File '{file}' does not exist.", showUsage: true);
            }
            await TransferProgress.RunAsync(context, progress =>
                ArtifactTransfers.UploadAsync(context, progress, context.ParseResult.GetValue(createBucket)!, key, file, null, token));
            return new JsonObject { ["artifact"] = key, ["Key"] = key };
        }, createBucket, createKey, createFile));

        var getBucket = Bucket();
        var getKey = Key();
        var getFile = new Argument<string>("FILEPATH");
        artifacts.Subcommands.Add(Leaf.Create("get", "Download an object from a bucket to a file", async (context, token) =>
        {
            await TransferProgress.RunAsync(context, async progress =>
            {
                await ArtifactTransfers.DownloadAsync(context, progress, context.ParseResult.GetValue(getBucket)!,
                    context.ParseResult.GetValue(getKey)!, context.ParseResult.GetValue(getFile)!, token);
                return true;
            });
            return Leaf.NoOutput;
        }, getBucket, getKey, getFile));

        var deleteBucket = Bucket();
        var deleteKey = Key();
        artifacts.Subcommands.Add(Leaf.Create("delete", "Delete an object from a bucket", async (context, token) =>
        {
            await context.Api.SendAsync(HttpMethod.Delete,
                ArtifactTransfers.ObjectPath(context.ParseResult.GetValue(deleteBucket)!, context.ParseResult.GetValue(deleteKey)!), cancellationToken: token);
            return Leaf.NoOutput;
        }, deleteBucket, deleteKey));
        artifacts.Subcommands.Add(ArtifactCheckCommand.Create());
        return artifacts;
    }

    private static Argument<string> Bucket() => new("BUCKET");

    private static Argument<string> Key() => new("OBJECT");
}
