using Amazon.Runtime;
using Cray.Platform;

namespace Cray.Artifacts;

/// <summary>
/// Where the artifact repository lives: files in the data directory (the default), or the buckets
/// of an S3 service such as Ceph's RADOS Gateway. Secrets never come from the command line (every
/// user of the machine sees it): the keys come from files, or the AWS SDK's usual environment
/// variables and credentials file.
/// </summary>
public sealed record ArtifactStoreAddress
{
    public const string FilesKind = "files";
    public const string S3Kind = "s3";

    private ArtifactStoreAddress(string? directory, S3ArtifactStoreOptions? s3, string description)
    {
        Directory = directory;
        S3 = s3;
        Description = description;
    }

    /// <summary>The file store's root; null for S3.</summary>
    public string? Directory { get; }

    /// <summary>The S3 store's settings, credentials included (never logged); null for files.</summary>
    public S3ArtifactStoreOptions? S3 { get; }

    /// <summary>The store for logs and errors, without any secret.</summary>
    public string Description { get; }

    public static ArtifactStoreAddress Files(string dataDirectory)
    {
        var directory = Path.Combine(dataDirectory, "artifacts");
        return new ArtifactStoreAddress(directory, null, $"files under {directory}");
    }

    /// <summary>The flags' meaning, checked: throws ArgumentException naming the flag that is wrong.</summary>
    public static ArtifactStoreAddress Parse(ArtifactStoreFlags flags, string dataDirectory, Func<string, string?> environment)
    {
        var kind = flags.Kind ?? FilesKind;
        if (kind == FilesKind)
        {
            var stray = new[]
            {
                ("--s3-endpoint", flags.Endpoint), ("--s3-region", flags.Region),
                ("--s3-access-key-file", flags.AccessKeyFile), ("--s3-secret-key-file", flags.SecretKeyFile),
            }.FirstOrDefault(flag => flag.Item2 is not null).Item1;
            if (stray is not null)
            {
                throw new ArgumentException($"{stray} only applies with --artifacts s3.");
            }
            return Files(dataDirectory);
        }
        if (kind != S3Kind)
        {
            throw new ArgumentException($"--artifacts: '{kind}' is not {FilesKind} or {S3Kind}.");
        }
        var endpointText = flags.Endpoint ?? environment("AWS_ENDPOINT_URL_S3") ?? environment("AWS_ENDPOINT_URL")
            ?? throw new ArgumentException("--artifacts s3 needs --s3-endpoint URL (or AWS_ENDPOINT_URL), for example http://rgw.local:8080.");
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")
            || !string.IsNullOrEmpty(endpoint.UserInfo) || endpoint.AbsolutePath != "/" || !string.IsNullOrEmpty(endpoint.Query))
        {
            throw new ArgumentException($"--s3-endpoint: '{endpointText}' is not an http:// or https:// URL of a host and port (no path, no user, no query).");
        }
        var region = flags.Region ?? environment("AWS_REGION") ?? environment("AWS_DEFAULT_REGION") ?? "us-east-1";
        AWSCredentials? credentials;
        string credentialSource;
        if (flags.AccessKeyFile is not null || flags.SecretKeyFile is not null)
        {
            if (flags.AccessKeyFile is null || flags.SecretKeyFile is null)
            {
                throw new ArgumentException("--s3-access-key-file and --s3-secret-key-file go together.");
            }
            credentials = new BasicAWSCredentials(SecretFile.ReadFirstLine("--s3-access-key-file", flags.AccessKeyFile), SecretFile.ReadFirstLine("--s3-secret-key-file", flags.SecretKeyFile));
            credentialSource = $"the key in {flags.AccessKeyFile}";
        }
        else if (environment("AWS_ACCESS_KEY_ID") is { Length: > 0 } accessKey && environment("AWS_SECRET_ACCESS_KEY") is { Length: > 0 } secretKey)
        {
            credentials = new BasicAWSCredentials(accessKey, secretKey);
            credentialSource = "AWS_ACCESS_KEY_ID";
        }
        else
        {
            // The SDK's own search: the shared credentials file, a profile.
            credentials = null;
            credentialSource = "the AWS SDK's credentials file or profile";
        }
        var options = new S3ArtifactStoreOptions { Endpoint = endpoint, Region = region, Credentials = credentials };
        return new ArtifactStoreAddress(null, options, $"S3 at {endpoint.GetLeftPart(UriPartial.Authority)} ({region}, credentials from {credentialSource})");
    }

    /// <summary>Opens the store and makes sure the buckets exist: a store that cannot be used fails here, at start.</summary>
    public async Task<IArtifactStore> OpenAsync(IEnumerable<string> buckets, CancellationToken cancellationToken = default)
    {
        IArtifactStore store = S3 is { } s3 ? new S3ArtifactStore(s3) : new FileSystemArtifactStore(Directory!);
        try
        {
            foreach (var bucket in buckets)
            {
                await store.CreateBucketAsync(bucket, cancellationToken);
            }
            return store;
        }
        catch
        {
            (store as IDisposable)?.Dispose();
            throw;
        }
    }
}

/// <summary>The artifact repository's flags as given: --artifacts, --s3-endpoint, --s3-region, --s3-access-key-file, --s3-secret-key-file.</summary>
public sealed record ArtifactStoreFlags(string? Kind, string? Endpoint = null, string? Region = null, string? AccessKeyFile = null, string? SecretKeyFile = null);
