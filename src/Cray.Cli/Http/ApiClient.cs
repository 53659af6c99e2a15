using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Http;

/// <summary>Talks to the server named by <c>core.hostname</c>, with the reference CLI's headers, logging and error texts.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly CliContext context;
    private readonly HttpClient http;
    private readonly Uri baseAddress;

    public ApiClient(CliContext context)
    {
        this.context = context;
        var hostname = context.Configuration.Hostname;
        if (string.IsNullOrWhiteSpace(hostname) || !Uri.TryCreate(hostname.TrimEnd('/') + "/", UriKind.Absolute, out var parsed))
        {
            throw new CliException("The configuration has no valid core.hostname. Run `cray init --hostname URL` or `cray config set core hostname=URL`.");
        }
        baseAddress = parsed;
        http = new HttpClient(NewHandler()) { Timeout = Timeout.InfiniteTimeSpan };
        var token = ReadToken(context.TokenPath);
        if (token is not null)
        {
            if (context.Verbosity >= 3)
            {
                context.Log($"Loaded token: {context.TokenPath}");
            }
            RefuseTokenOverPlainHttp(baseAddress);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (!string.IsNullOrEmpty(context.Configuration.Tenant))
        {
            http.DefaultRequestHeaders.Add("Cray-Tenant-Name", context.Configuration.Tenant);
        }
    }

    /// <summary>The reference does not verify TLS: clusters use an internal certificate authority.</summary>
#pragma warning disable CA5359 // Deliberate, as in the reference CLI (docs/decisions.md, CLI).
    public static SocketsHttpHandler NewHandler() => new()
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        ConnectTimeout = TimeSpan.FromSeconds(30),
    };
#pragma warning restore CA5359

    /// <summary>As the reference: a token never goes to a non-loopback host over plain http.</summary>
    public static void RefuseTokenOverPlainHttp(Uri address)
    {
        if (address.Scheme == Uri.UriSchemeHttp && !address.IsLoopback)
        {
            throw new CliException("You've configured your cray hostname with http. Please reconfigure for https.");
        }
    }

    public Uri Url(string path, IEnumerable<KeyValuePair<string, string?>>? query = null)
    {
        var builder = new StringBuilder(path.TrimStart('/'));
        var pairs = query?.Where(pair => pair.Value is not null).ToList() ?? [];
        if (pairs.Count > 0)
        {
            builder.Append('?').AppendJoin('&', pairs.Select(pair => Uri.EscapeDataString(pair.Key) + "=" + Uri.EscapeDataString(pair.Value!)));
        }
        return new Uri(baseAddress, builder.ToString());
    }

    /// <summary>Sends a JSON request and returns the parsed body: null for an empty body, a string node for non-JSON text.</summary>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body = null,
        IEnumerable<KeyValuePair<string, string?>>? query = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, Url(path, query));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    /// <summary>A GET whose 404 means "there is none": null then.</summary>
    public async Task<JsonNode?> GetIfFoundAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync(HttpMethod.Get, path, cancellationToken: cancellationToken) ?? new JsonObject();
        }
        catch (CliException exception) when (exception.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Sends a prepared request; any status but 2xx becomes the reference's error message.</summary>
    public async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        if (context.Verbosity >= 2)
        {
            context.Log($"REQUEST: {request.Method} to {request.RequestUri}");
        }
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            if (context.Verbosity >= 1)
            {
                context.Log($"ERROR: {exception.Message}");
            }
            throw new CliException(
                "Unable to connect to cray. Please verify your cray hostname:\n\tcray config get core.hostname\nTo update run:\n\tcray config set core hostname=cray_hostname");
        }
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (context.Verbosity >= 3)
            {
                context.Log($"ERROR: {text}");
            }
            var message = ErrorMessage(response.StatusCode, response.ReasonPhrase, text);
            response.Dispose();
            // The reference's HTTP error is a click usage error, so its usage block comes first.
            throw new CliException(message, showUsage: true) { Status = response.StatusCode };
        }
        return response;
    }

    /// <summary>The reference's rendering: "title: detail" for an RFC 7807 body, otherwise the status line.</summary>
    public static string ErrorMessage(HttpStatusCode status, string? reason, string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject problem && problem["title"] is JsonValue title && problem["detail"] is JsonValue detail)
            {
                return $"{title}: {detail}";
            }
        }
        catch (JsonException)
        {
        }
        return $"Error received from server: {(int)status} {reason}";
    }

    private static string? ReadToken(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?["access_token"]?.GetValue<string>()
                ?? throw new CliException($"Invalid value for '--token': {path} has no access_token.", showUsage: true);
        }
        catch (Exception exception) when (exception is IOException or JsonException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new CliException($"Invalid value for '--token': cannot read a token from {path}.", showUsage: true);
        }
    }

    public void Dispose() => http.Dispose();
}
