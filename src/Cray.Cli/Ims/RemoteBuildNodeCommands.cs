using System.CommandLine;
using Cray.Cli.Common;

namespace Cray.Cli.Ims;

/// <summary><c>cray ims remote-build-nodes …</c>: machines that run an ims-worker under a name, and their status.</summary>
public static class RemoteBuildNodeCommands
{
    private const string Collection = ImsCommands.Base + "/remote-build-nodes";

    private const string XnameArgument = "REMOTE_BUILD_NODE_XNAME";

    public static Command Build()
    {
        var nodes = Leaf.Group("remote-build-nodes", "IMS remote build nodes (machines running an ims-worker)");
        nodes.Subcommands.Add(Leaf.Create("list", "List the registered remote build nodes",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, Collection, cancellationToken: token)));
        var xname = new Option<string>("--xname") { Description = "Name of the node: the --worker-name of its ims-worker", Required = true, HelpName = "TEXT" };
        nodes.Subcommands.Add(Leaf.Create("create", "Register a remote build node",
            (context, token) => context.Api.SendAsync(HttpMethod.Post, Collection, ImsCommands.Body(("xname", context.Value(xname))), cancellationToken: token),
            xname));
        var describeName = new Argument<string>(XnameArgument);
        nodes.Subcommands.Add(Leaf.Create("describe", "Show one registered remote build node",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Collection}/{ImsCommands.Escape(context.ParseResult.GetValue(describeName)!)}", cancellationToken: token),
            describeName));
        var deleteName = new Argument<string>(XnameArgument);
        nodes.Subcommands.Add(Leaf.Create("delete", "Remove one remote build node's registration",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, $"{Collection}/{ImsCommands.Escape(context.ParseResult.GetValue(deleteName)!)}", cancellationToken: token),
            deleteName));
        nodes.Subcommands.Add(Leaf.Create("deleteall", "Remove every remote build node's registration",
            (context, token) => context.Api.SendAsync(HttpMethod.Delete, Collection, cancellationToken: token)));
        var status = Leaf.Group("status", "Status of the remote build nodes (from their workers' heartbeats)");
        status.Subcommands.Add(Leaf.Create("list", "Status of every registered node and every live worker",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Collection}/status", cancellationToken: token)));
        var statusName = new Argument<string>(XnameArgument);
        status.Subcommands.Add(Leaf.Create("describe", "Status of one node",
            (context, token) => context.Api.SendAsync(HttpMethod.Get, $"{Collection}/status/{ImsCommands.Escape(context.ParseResult.GetValue(statusName)!)}", cancellationToken: token),
            statusName));
        nodes.Subcommands.Add(status);
        return nodes;
    }
}
