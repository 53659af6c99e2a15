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
            // Written as it arrives, so --follow shows each line when the server sends it.
            using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
            var buffer = new char[8192];
            int read;
            while ((read = await reader.ReadAsync(buffer, token)) > 0)
            {
                await CliHost.Current.Out.WriteAsync(buffer.AsMemory(0, read), token);
                await CliHost.Current.Out.FlushAsync(token);
            }
            return Leaf.NoOutput;
        }, id, follow);
    }
}
