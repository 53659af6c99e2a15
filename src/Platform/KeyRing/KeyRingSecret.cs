using System.Security.Cryptography;
using System.Text;

namespace Cray.Platform.KeyRing;

/// <summary>
/// The operator's secret that encrypts the Data Protection key ring in the record store, so that
/// every server sharing the store reads source credentials while the store alone reveals nothing.
/// Only a key derived from it is kept.
/// </summary>
public sealed class KeyRingSecret
{
    public const string Flag = "--key-ring-secret-file";
    public const string EnvironmentVariable = "CRAY_KEY_RING_SECRET";

    /// <summary>Long enough that guessing it costs more than breaking AES.</summary>
    public const int MinimumLength = 32;

    private const string GeneratedFileName = "key-ring.secret";

    private KeyRingSecret(byte[] key, string origin)
    {
        Key = key;
        Origin = origin;
    }

    /// <summary>The AES-256 key derived from the secret.</summary>
    internal byte[] Key { get; }

    /// <summary>Where the secret came from, for messages (never the secret).</summary>
    public string Origin { get; }

    public static KeyRingSecret FromText(string secret, string origin)
    {
        if (secret.Length < MinimumLength)
        {
            throw new ArgumentException($"{origin}: the key-ring secret must be at least {MinimumLength} characters (for example `openssl rand -base64 48`).");
        }
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, info: Encoding.UTF8.GetBytes("cray-server key ring"));
        return new KeyRingSecret(key, origin);
    }

    /// <summary>
    /// The secret from <c>--key-ring-secret-file</c>, else <c>CRAY_KEY_RING_SECRET</c>; null without
    /// either, when the server's store is its own (it then keeps one in its data directory). A server
    /// on a shared store is refused without one: servers that each made their own could not read
    /// each other's credentials.
    /// </summary>
    public static KeyRingSecret? FromFlagOrEnvironment(string? file, Func<string, string?> environment, bool storeIsShared)
    {
        if (file is not null)
        {
            return FromText(SecretFile.ReadFirstLine(Flag, file), $"{Flag} {file}");
        }
        if (environment(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return FromText(fromEnvironment.Trim(), EnvironmentVariable);
        }
        return storeIsShared
            ? throw new ArgumentException(
                $"{Flag}: servers sharing a PostgreSQL store need the same key-ring secret to read each other's source credentials; give every server the same file (first line, at least {MinimumLength} characters) or {EnvironmentVariable}.")
            : null;
    }

    /// <summary>The secret a server with a store of its own keeps in its data directory (0600), made on first use.</summary>
    public static KeyRingSecret InDataDirectory(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, GeneratedFileName);
        if (!File.Exists(path))
        {
            using var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            using var writer = new StreamWriter(stream);
            writer.WriteLine(Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)));
        }
        return FromText(SecretFile.ReadFirstLine(Flag, path), path);
    }
}
