using System.CommandLine;

namespace Cray.Cli.Common;

/// <summary>A <c>logs ID [--follow]</c> command that copies a server-side log to stdout as it arrives.</summary>
public static class LogCommand
{
    public static Command Create(string description, string argumentName, string followDescription, Func<string, string> pathOf)
    {
        var id = new Argument<string>(argumentName);
        var follow = new Option<bool>("--follow", "-f") { Description = followDescription };
        return Leaf.Create("logs", description, async (context, token) =>
        {
            var path = pathOf(Uri.EscapeDataString(context.ParseResult.GetValue(id)!));
            using var request = new HttpRequestMessage(HttpMethod.Get, context.Api.Url(path, [new("follow", context.ParseResult.GetValue(follow) ? "true" : null)]));
            using var response = await context.Api.SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
            await using var stream = await response.Content.ReadAsStreamAsync(token);
            await using var stdout = Console.OpenStandardOutput();
            await stream.CopyToAsync(stdout, token);
            return Leaf.NoOutput;
        }, id, follow);
    }
}
