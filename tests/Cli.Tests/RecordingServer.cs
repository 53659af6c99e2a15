using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Cray.Cli.Tests;

public sealed record RecordedRequest(string Method, string Path, JsonNode? Body);

/// <summary>A loopback HTTP server that records every request and answers each with an empty JSON object.</summary>
public sealed class RecordingServer : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly List<RecordedRequest> requests = [];
    private readonly Task serving;

    public RecordingServer()
    {
        Port = FreePort();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
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

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
