using System.CommandLine;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Cfs;

/// <summary>
/// <c>cray cfs cache …</c> (also under <c>cray cfs v3</c>): the layer cache image sessions reuse
/// layers from (ours, v3 API only). Its on/off switch and size limit are the layer_cache options.
/// </summary>
public static class CacheCommands
{
    public static Command Build()
    {
        const string basePath = "apis/cfs/v3/cache";
        var group = Leaf.Group("cache", "The layer cache: configuration layers image sessions can start from");
        group.Subcommands.Add(Leaf.Create("list", "List the cached layers, most recently used first, with the cache's size and limit",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, basePath, cancellationToken: token)));

        var describeKey = new Argument<string>("KEY") { Description = "The layer's cache key" };
        group.Subcommands.Add(Leaf.Create("describe", "Show one cached layer: what made it, its size and use",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(describeKey)!)}", cancellationToken: token),
            describeKey));

        var deleteKey = new Argument<string>("KEY") { Description = "The layer's cache key" };
        group.Subcommands.Add(Leaf.Create("delete", "Delete one cached layer (sessions run that layer again)",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{basePath}/{CfsCommands.Escape(context.ParseResult.GetValue(deleteKey)!)}", cancellationToken: token),
            deleteKey));

        var all = new Option<bool>("--all") { Description = "Delete every cached layer" };
        var unusedFor = new Option<string>("--unused-for") { Description = "Delete the layers no session used for this long, e.g. 7d or 12h", HelpName = "AGE" };
        group.Subcommands.Add(Leaf.Create("prune", "Delete cached layers: all, those unused for a while, or (by default) the least recently used beyond the size limit",
            (context, token) =>
            {
                var body = new JsonObject();
                if (context.ParseResult.GetValue(all))
                {
                    body["all"] = true;
                }
                if (context.Value(unusedFor) is { } age)
                {
                    body["unused_for"] = age;
                }
                return context.Api.SendAsync(HttpMethod.Post, $"{basePath}/prune", body, cancellationToken: token);
            }, all, unusedFor));
        return group;
    }
}
