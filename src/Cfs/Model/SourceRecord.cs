using System.Text.Json.Serialization;

namespace Cray.Cfs.Model;

public sealed record SourceCaCert(
    [property: JsonPropertyName("configmap_name")] string ConfigmapName,
    [property: JsonPropertyName("configmap_namespace")] string ConfigmapNamespace);

/// <summary>How a source authenticates, and the name of the stored secret that holds its credentials (never the credentials).</summary>
public sealed record SourceCredentialsReference(
    [property: JsonPropertyName("authentication_method")] string AuthenticationMethod,
    [property: JsonPropertyName("secret_name")] string SecretName);

/// <summary>A v3 source as stored and served.</summary>
public sealed record SourceRecord(
    [property: JsonPropertyName("ca_cert")] SourceCaCert? CaCert,
    [property: JsonPropertyName("clone_url")] string CloneUrl,
    [property: JsonPropertyName("credentials")] SourceCredentialsReference Credentials,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("last_updated")] string LastUpdated,
    [property: JsonPropertyName("name")] string Name);

/// <summary>A source's credentials as stored: encrypted with Data Protection.</summary>
public sealed record ProtectedSecret([property: JsonPropertyName("protected")] string Protected);
