using System.Text.Json.Nodes;
using Cray.Cli.Http;
using Cray.Cli.Ims;

namespace Cray.Cli.Bootprep;

/// <summary>The CFS v3 and IMS v3 requests bootprep makes, through the CLI's client.</summary>
public sealed class BootprepServer(ApiClient api)
{
    private const string Configurations = "apis/cfs/v3/configurations";
    private const string Sessions = "apis/cfs/v3/sessions";
    private const string Ims = "apis/ims/v3";

    public async Task<ServerInventory> InventoryAsync(IEnumerable<string> configurationNames, CancellationToken cancellationToken)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in configurationNames.Distinct(StringComparer.Ordinal))
        {
            if (await api.GetIfFoundAsync($"{Configurations}/{Uri.EscapeDataString(name)}", cancellationToken) is not null)
            {
                existing.Add(name);
            }
        }
        return new ServerInventory(existing, await RecordsAsync("images", cancellationToken), await RecordsAsync("recipes", cancellationToken));
    }

    private async Task<IReadOnlyList<ImsRecord>> RecordsAsync(string collection, CancellationToken cancellationToken)
        => (await api.SendAsync(HttpMethod.Get, $"{Ims}/{collection}", cancellationToken: cancellationToken) as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(record => new ImsRecord((string?)record["id"] ?? "", (string?)record["name"] ?? ""))
            .ToList();

    public Task<JsonNode?> PutConfigurationAsync(string name, JsonObject body, bool dropBranches, CancellationToken cancellationToken)
        => api.SendAsync(HttpMethod.Put, $"{Configurations}/{Uri.EscapeDataString(name)}", body,
            [new("drop_branches", dropBranches ? "true" : "false")], cancellationToken);

    public async Task<IReadOnlyList<(string Id, string Text)>> PublicKeysAsync(CancellationToken cancellationToken)
        => [.. (await api.SendAsync(HttpMethod.Get, $"{Ims}/public-keys", cancellationToken: cancellationToken) as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(key => ((string?)key["id"] ?? "", (string?)key["public_key"] ?? ""))];

    public async Task<bool> PublicKeyExistsAsync(string id, CancellationToken cancellationToken)
        => await api.GetIfFoundAsync($"{Ims}/public-keys/{Uri.EscapeDataString(id)}", cancellationToken) is not null;

    public async Task<string> CreatePublicKeyAsync(string name, string text, CancellationToken cancellationToken)
        => (string)(await api.SendAsync(HttpMethod.Post, $"{Ims}/public-keys", new JsonObject { ["name"] = name, ["public_key"] = text },
            cancellationToken: cancellationToken))!["id"]!;

    public async Task<JsonObject> CreateJobAsync(JsonObject body, CancellationToken cancellationToken)
        => (JsonObject)(await api.SendAsync(HttpMethod.Post, $"{Ims}/jobs", body, cancellationToken: cancellationToken))!;

    /// <summary>The job, answered by the server as soon as its status is not <paramref name="seen"/> (or after the bound).</summary>
    public async Task<JsonObject> JobAsync(string id, string? seen, TimeSpan bound, CancellationToken cancellationToken)
        => (JsonObject)(await api.SendAsync(HttpMethod.Get, $"{Ims}/jobs/{Uri.EscapeDataString(id)}",
            query: JobCommands.LongPollQuery(seen, bound), cancellationToken: cancellationToken))!;

    public Task DeleteJobAsync(string id, CancellationToken cancellationToken)
        => api.SendAsync(HttpMethod.Delete, $"{Ims}/jobs/{Uri.EscapeDataString(id)}", cancellationToken: cancellationToken);

    public Task DeleteImageAsync(string id, CancellationToken cancellationToken)
        => api.SendAsync(HttpMethod.Delete, $"{Ims}/images/{Uri.EscapeDataString(id)}", cancellationToken: cancellationToken);

    public Task CreateSessionAsync(JsonObject body, CancellationToken cancellationToken)
        => api.SendAsync(HttpMethod.Post, Sessions, body, cancellationToken: cancellationToken);

    public async Task<JsonObject> SessionAsync(string name, CancellationToken cancellationToken)
        => (JsonObject)(await api.SendAsync(HttpMethod.Get, $"{Sessions}/{Uri.EscapeDataString(name)}", cancellationToken: cancellationToken))!;

    public Task DeleteSessionAsync(string name, CancellationToken cancellationToken)
        => api.SendAsync(HttpMethod.Delete, $"{Sessions}/{Uri.EscapeDataString(name)}", cancellationToken: cancellationToken);
}
