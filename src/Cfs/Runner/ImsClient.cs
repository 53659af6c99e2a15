using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Cray.Cfs.Runner;

/// <summary>The IMS calls a session makes, over IMS's unversioned HTTP API as the reference's CFS does.</summary>
public sealed class ImsClient(HttpClient http, CfsRunnerOptions options)
{
    private string Url(string path) => options.ImsUrl.TrimEnd('/') + "/" + path;

    /// <summary>The image record, or null when IMS does not know the id.</summary>
    public async Task<JsonObject?> GetImageAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(Url($"images/{Uri.EscapeDataString(id)}"), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        return await ReadAsync(response, "GET image", cancellationToken);
    }

    public async Task<string> CreatePublicKeyAsync(string name, string publicKey, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(Url("public-keys"), new { name, public_key = publicKey }, cancellationToken);
        return (await ReadAsync(response, "POST public key", cancellationToken))["id"]!.GetValue<string>();
    }

    public async Task DeletePublicKeyAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await http.DeleteAsync(Url($"public-keys/{id}"), cancellationToken);
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
        {
            await ReadAsync(response, "DELETE public key", cancellationToken);
        }
    }

    public async Task<JsonObject> CreateJobAsync(JsonObject body, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync(Url("jobs"), new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), cancellationToken);
        return await ReadAsync(response, "POST job", cancellationToken);
    }

    public Task<JsonObject?> GetJobAsync(string id, CancellationToken cancellationToken) => ReadJobAsync($"jobs/{id}", cancellationToken);

    /// <summary>
    /// The job once its status is one of <paramref name="statuses"/>, or as it is after at most
    /// <paramref name="timeout"/> (null once it is gone), through IMS's long poll. An IMS without
    /// the long poll (the reference) answers at once with the job as it is.
    /// </summary>
    public Task<JsonObject?> WaitForJobAsync(string id, IEnumerable<string> statuses, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ReadJobAsync($"jobs/{id}?wait={string.Join(',', statuses)}&timeout={seconds}", cancellationToken);
    }

    /// <summary>A job read; null once the job is gone.</summary>
    private async Task<JsonObject?> ReadJobAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(Url(path), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        return await ReadAsync(response, "GET job", cancellationToken);
    }

    /// <summary>
    /// Ours: asks a layered customize job to seal its current layer (storing it at
    /// <paramref name="storePath"/> when given) and serve a fresh one; the job as IMS answers, or null
    /// when IMS has no such route (the reference's IMS answers 404 or 405 for it).
    /// </summary>
    public async Task<JsonObject?> SealLayerAsync(string jobId, string? storePath, CancellationToken cancellationToken)
    {
        var body = storePath is null ? new JsonObject() : new JsonObject { ["store_path"] = storePath };
        using var response = await http.PostAsync(Url($"jobs/{jobId}/layers"), new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
            cancellationToken);
        if (response.StatusCode is HttpStatusCode.MethodNotAllowed || (response.StatusCode == HttpStatusCode.NotFound && await GetJobAsync(jobId, cancellationToken) is not null))
        {
            return null;
        }
        return await ReadAsync(response, "POST job layer", cancellationToken);
    }

    /// <summary>Sets one metadata key of an image (IMS v3's metadata operation).</summary>
    public async Task SetImageMetadataAsync(string imageId, string key, string value, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["metadata"] = new JsonObject { ["operation"] = "set", ["key"] = key, ["value"] = value } };
        using var request = new HttpRequestMessage(HttpMethod.Patch, Url($"v3/images/{Uri.EscapeDataString(imageId)}"))
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, cancellationToken);
        await ReadAsync(response, "PATCH image metadata", cancellationToken);
    }

    public async Task DeleteJobAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await http.DeleteAsync(Url($"jobs/{id}"), cancellationToken);
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
        {
            await ReadAsync(response, "DELETE job", cancellationToken);
        }
    }

    private static async Task<JsonObject> ReadAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var detail = text;
            try
            {
                detail = JsonNode.Parse(text)?["detail"]?.GetValue<string>() ?? text;
            }
            catch (System.Text.Json.JsonException)
            {
            }
            throw new SessionFailedException($"IMS refused {what}: {(int)response.StatusCode} {detail}");
        }
        return JsonNode.Parse(text) as JsonObject ?? throw new SessionFailedException($"IMS answered {what} with something other than a JSON object.");
    }
}
