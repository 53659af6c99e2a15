using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Cfs.Model;
using Cray.Cfs.Options;
using Cray.Platform.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace Cray.Cfs.Sources;

/// <summary>The username and password of a source, as git needs them.</summary>
public sealed record SourceCredentials(string Username, string Password);

/// <summary>
/// CFS sources (v3): a repository and its credentials, which layers name instead of a clone URL.
/// Credentials are encrypted at rest with ASP.NET Core Data Protection (keys under the data
/// directory) and are never returned; the record keeps only the secret's name.
/// </summary>
public sealed partial class SourceService(IRecordStore store, IDataProtectionProvider protection, OptionsService options, TimeProvider clock)
{
    public const string SecretsCollection = "cfs.source_credentials";
    private readonly IDataProtector protector = protection.CreateProtector("Cray.Cfs.Sources.Credentials");

    public async Task<SourceRecord?> FindAsync(string name, CancellationToken cancellationToken)
        => await store.GetAsync<SourceRecord>(CfsCollections.Sources, name, cancellationToken);

    public async Task<SourceRecord> GetAsync(string name, CancellationToken cancellationToken)
        => await FindAsync(name, cancellationToken) ?? throw NotFound(name);

    public IAsyncEnumerable<SourceRecord> ScanAsync(string? afterId, CancellationToken cancellationToken)
        => store.ScanByIdAsync<SourceRecord>(CfsCollections.Sources, afterId, cancellationToken: cancellationToken);

    public async Task<SourceRecord> CreateAsync(JsonNode? body, CancellationToken cancellationToken)
    {
        var reader = SchemaReader.Of(body, "").Only(["name", "description", "clone_url", "credentials", "ca_cert"]);
        reader.Require("clone_url", "credentials");
        var cloneUrl = reader.String("clone_url", 1, pattern: NoSpaceOrSemicolon())!;
        var name = reader.String("name", 1) ?? cloneUrl;
        var credentials = ReadCredentials(reader.Object("credentials")!);
        var description = reader.String("description");
        var caCert = ReadCaCert(reader);
        if (await FindAsync(name, cancellationToken) is not null)
        {
            throw NameConflict(name);
        }
        var secretName = $"cfs-source-credentials-{Guid.NewGuid()}";
        var source = NewSource(name, description, cloneUrl, caCert, credentials.Method, secretName);
        await InsertAsync(name, [RecordWrite.Insert(SecretsCollection, secretName, Protect(credentials.Value)), RecordWrite.Insert(CfsCollections.Sources, name, source)], cancellationToken);
        return source;
    }

    /// <summary>
    /// The reference's restore: a source record under the given name whose credentials are an
    /// existing secret, named and not made or checked, for rebuilding CFS's records after they were
    /// lost (deleting a source deletes its secret, so a deleted source cannot come back this way).
    /// </summary>
    public async Task<SourceRecord> RestoreAsync(string name, JsonNode? body, CancellationToken cancellationToken)
    {
        var reader = SchemaReader.Of(body, "").Only(["description", "clone_url", "credentials", "ca_cert"]);
        reader.Require("clone_url", "credentials");
        var cloneUrl = reader.String("clone_url", 1, pattern: NoSpaceOrSemicolon())!;
        var credentials = reader.Object("credentials")!.Only(["authentication_method", "secret_name"]);
        credentials.Require("authentication_method", "secret_name");
        var method = credentials.Enum("authentication_method", ["password"])!;
        var secretName = credentials.String("secret_name", 1)!;
        var source = NewSource(name, reader.String("description"), cloneUrl, ReadCaCert(reader), method, secretName);
        await InsertAsync(name, [RecordWrite.Insert(CfsCollections.Sources, name, source)], cancellationToken);
        return source;
    }

    /// <summary>A new source record; its credentials are only a secret's name.</summary>
    private SourceRecord NewSource(string name, string? description, string cloneUrl, SourceCaCert? caCert, string method, string secretName)
        => new(caCert, cloneUrl, new SourceCredentialsReference(method, secretName), description ?? "", Now(), name);

    private async Task InsertAsync(string name, IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken)
    {
        try
        {
            await store.WriteAsync(writes, cancellationToken);
        }
        catch (RecordConflictException)
        {
            throw NameConflict(name);
        }
    }

    private static Platform.Problems.ProblemException NameConflict(string name)
        => CfsProblems.Conflict("Conflicting source name", $"A source with the name {name} already exists");

    public async Task<SourceRecord> UpdateAsync(string name, JsonNode? body, CancellationToken cancellationToken)
    {
        var reader = SchemaReader.Of(body, "").Only(["description", "clone_url", "credentials", "ca_cert"]);
        var source = await GetAsync(name, cancellationToken);
        var writes = new List<RecordWrite>();
        if (reader.String("description") is { } description)
        {
            source = source with { Description = description };
        }
        if (reader.String("clone_url", 1, pattern: NoSpaceOrSemicolon()) is { } cloneUrl)
        {
            source = source with { CloneUrl = cloneUrl };
        }
        if (reader.Has("ca_cert"))
        {
            source = source with { CaCert = ReadCaCert(reader) };
        }
        if (reader.Object("credentials") is { } credentialsReader)
        {
            var credentials = ReadCredentials(credentialsReader);
            source = source with { Credentials = source.Credentials with { AuthenticationMethod = credentials.Method } };
            writes.Add(RecordWrite.Upsert(SecretsCollection, source.Credentials.SecretName, Protect(credentials.Value)));
        }
        source = source with { LastUpdated = Now() };
        writes.Add(RecordWrite.Upsert(CfsCollections.Sources, name, source));
        await store.WriteAsync(writes, cancellationToken);
        return source;
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        var source = await GetAsync(name, cancellationToken);
        if ((await InUseAsync(cancellationToken)).Contains(name))
        {
            throw CfsProblems.BadRequest("Source is in use", $"Source {name} is referenced by a configuration or the additional_inventory_source option");
        }
        await store.WriteAsync(
            [
                RecordWrite.Delete(CfsCollections.Sources, name),
                RecordWrite.Delete(SecretsCollection, source.Credentials.SecretName),
            ],
            cancellationToken);
    }

    /// <summary>Sources that a configuration layer, an additional inventory or the option name.</summary>
    public async Task<HashSet<string>> InUseAsync(CancellationToken cancellationToken)
    {
        var used = new HashSet<string>();
        foreach (var configuration in await store.ListAsync<ConfigurationRecord>(CfsCollections.Configurations, cancellationToken))
        {
            foreach (var layer in configuration.Repositories)
            {
                if (layer.Source is { } source)
                {
                    used.Add(source);
                }
            }
        }
        var option = OptionsService.Text(await options.GetAsync(cancellationToken), "additional_inventory_source");
        if (option.Length > 0)
        {
            used.Add(option);
        }
        return used;
    }

    /// <summary>The decrypted credentials of a source, for git only.</summary>
    public async Task<SourceCredentials?> CredentialsAsync(SourceRecord source, CancellationToken cancellationToken)
    {
        if (await store.GetAsync<ProtectedSecret>(SecretsCollection, source.Credentials.SecretName, cancellationToken) is not { } secret)
        {
            return null;
        }
        var plain = JsonNode.Parse(protector.Unprotect(secret.Protected))!;
        return new SourceCredentials(plain["username"]!.GetValue<string>(), plain["password"]!.GetValue<string>());
    }

    private ProtectedSecret Protect(JsonObject credentials) => new(protector.Protect(credentials.ToJsonString()));

    private static (string Method, JsonObject Value) ReadCredentials(SchemaReader reader)
    {
        reader.Only(["authentication_method", "username", "password"]);
        var method = reader.Enum("authentication_method", ["password"]) ?? "password";
        var username = reader.String("username");
        var password = reader.String("password");
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
        {
            throw CfsProblems.BadRequest("Invalid credentials", "Both a username and a password are required.");
        }
        return (method, new JsonObject { ["username"] = username, ["password"] = password });
    }

    private static SourceCaCert? ReadCaCert(SchemaReader reader)
    {
        if (reader.Object("ca_cert") is not { } caCert)
        {
            return null;
        }
        caCert.Only(["configmap_name", "configmap_namespace"]);
        caCert.Require("configmap_name");
        return new SourceCaCert(caCert.String("configmap_name")!, caCert.String("configmap_namespace") ?? "services");
    }

    public static Platform.Problems.ProblemException NotFound(string name)
        => CfsProblems.NotFound("Source not found", $"Source {name} could not be found");

    private string Now() => clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex("^[^\\s;]*$")]
    private static partial Regex NoSpaceOrSemicolon();
}
