using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Cray.Tests.Support;

namespace Cray.Cli.Tests;

public sealed record RecordedRequest(string Method, string Path, JsonNode? Body);

/// <summary>A loopback HTTP server that records every request and answers each with an empty JSON object.</summary>
public sealed class RecordingServer : IDisposable
{
    private readonly HttpListener listener;
    private readonly List<RecordedRequest> requests = [];
    private readonly Task serving;

    public RecordingServer()
    {
        // Test projects run in parallel: a port found free can be taken before it is bound, so a few tries.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreeTcpPort.Find();
            listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
        serving = ServeAsync();
    }

    public int Port { get; }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (requests)
            {
                return [.. requests];
            }
        }
    }

    public void Dispose()
    {
        listener.Close();
        serving.Wait(TimeSpan.FromSeconds(10));
    }

    private async Task ServeAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            {
                var body = await reader.ReadToEndAsync();
                lock (requests)
                {
                    requests.Add(new RecordedRequest(context.Request.HttpMethod, context.Request.RawUrl!, body.Length == 0 ? null : JsonNode.Parse(body)));
                }
            }
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync("{}"u8.ToArray());
            context.Response.Close();
        }
    }
}
