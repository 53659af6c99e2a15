using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Cray.Platform.Storage;

namespace Cray.Platform.Authentication;

/// <summary>A named bearer token as the store keeps it: only the SHA-256 of the secret.</summary>
public sealed record AccessTokenRecord(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("created")] string Created);

/// <summary>
/// The bearer tokens cray-server accepts with <c>--auth token</c>: created by an admin on the server
/// host (<c>cray-server tokens create NAME</c>), stored hashed, shown once. The server also accepts
/// an in-memory token of its own, so that its CFS runner can call its IMS API.
/// </summary>
public sealed class AccessTokens(IRecordStore store, TimeProvider clock)
{
    public const string Collection = "auth.tokens";
    private const string Prefix = "cray_";

    private readonly ConcurrentDictionary<string, byte> internalHashes = new();

    /// <summary>Creates a token and returns its secret; the name must be new.</summary>
    public async Task<string> CreateAsync(string name, CancellationToken cancellationToken)
    {
        var secret = NewSecret();
        await store.WriteAsync(RecordWrite.Insert(Collection, name, new AccessTokenRecord(name, Hash(secret), Timestamps.Format(clock.GetUtcNow()))), cancellationToken);
        return secret;
    }

    public Task<IReadOnlyList<AccessTokenRecord>> ListAsync(CancellationToken cancellationToken)
        => store.ListAsync<AccessTokenRecord>(Collection, cancellationToken);

    /// <summary>Deletes a token; false when there is none of that name.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (await store.GetAsync<AccessTokenRecord>(Collection, name, cancellationToken) is null)
        {
            return false;
        }
        await store.WriteAsync(RecordWrite.Delete(Collection, name), cancellationToken);
        return true;
    }

    /// <summary>Accepts a token only this process knows (from <see cref="NewSecret"/>), for calls it makes to itself; never stored.</summary>
    public void AddInternal(string secret) => internalHashes[Hash(secret)] = 0;

    /// <summary>The token's name when it is valid, else null. Hashes are compared in constant time.</summary>
    public async Task<string?> NameOfAsync(string secret, CancellationToken cancellationToken)
    {
        var hash = Hash(secret);
        if (internalHashes.ContainsKey(hash))
        {
            return "cray-server";
        }
        var presented = Encoding.ASCII.GetBytes(hash);
        foreach (var token in await ListAsync(cancellationToken))
        {
            if (CryptographicOperations.FixedTimeEquals(presented, Encoding.ASCII.GetBytes(token.Sha256)))
            {
                return token.Name;
            }
        }
        return null;
    }

    public static string NewSecret() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
