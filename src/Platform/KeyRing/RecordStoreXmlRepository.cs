using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using System.Xml.Linq;
using Cray.Platform.Storage;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Cray.Platform.KeyRing;

/// <summary>
/// The Data Protection key ring kept in the record store, each key's XML sealed with AES-GCM under
/// the operator's <see cref="KeyRingSecret"/>: every server on the store reads the same keys.
/// </summary>
public sealed class RecordStoreXmlRepository(IRecordStore store, KeyRingSecret secret) : IXmlRepository
{
    public const string Collection = "platform.key_ring";

    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    /// <summary>One key's element, sealed.</summary>
    public sealed record SealedElement(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("sealed")] string Sealed);

    // IXmlRepository is synchronous; Data Protection calls it at start and when the key ring is
    // refreshed (about daily), never per request, so blocking here costs nothing that matters.
    public IReadOnlyCollection<XElement> GetAllElements()
        => ReadAllAsync(CancellationToken.None).GetAwaiter().GetResult();

    public void StoreElement(XElement element, string friendlyName)
    {
        var name = string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString() : friendlyName;
        store.WriteAsync(RecordWrite.Upsert(Collection, name, new SealedElement(name, Seal(name, element.ToString(SaveOptions.DisableFormatting)))))
            .GetAwaiter().GetResult();
    }

    /// <summary>Every key, opened; an <see cref="InvalidOperationException"/> naming the secret's origin when one does not open with it.</summary>
    public async Task<IReadOnlyCollection<XElement>> ReadAllAsync(CancellationToken cancellationToken)
    {
        var elements = new List<XElement>();
        foreach (var element in await store.ListAsync<SealedElement>(Collection, cancellationToken))
        {
            elements.Add(XElement.Parse(Open(element)));
        }
        return elements;
    }

    /// <summary>The key's name is authenticated with it, so a sealed key cannot pass for another.</summary>
    private static byte[] AssociatedData(string name) => Encoding.UTF8.GetBytes($"{Collection}/{name}");

    /// <summary>
    /// Moves the keys an older server kept as plain files in <paramref name="directory"/> into the
    /// store, sealed, and deletes the files. Every server's own keys join the ring (several servers
    /// upgraded onto one store each bring theirs); a key the store has already is left as it is.
    /// Returns how many were added.
    /// </summary>
    public async Task<int> ImportFromDirectoryAsync(string directory, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }
        var stored = (await store.ListAsync<SealedElement>(Collection, cancellationToken)).Select(element => element.Name).ToHashSet(StringComparer.Ordinal);
        var files = Directory.GetFiles(directory, "*.xml");
        var added = 0;
        foreach (var file in files)
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (stored.Contains(name))
            {
                continue;
            }
            var element = XElement.Load(file);
            await store.WriteAsync(RecordWrite.Upsert(Collection, name, new SealedElement(name, Seal(name, element.ToString(SaveOptions.DisableFormatting)))), cancellationToken);
            added++;
        }
        foreach (var file in files)
        {
            File.Delete(file);
        }
        if (Directory.GetFileSystemEntries(directory).Length == 0)
        {
            Directory.Delete(directory);
        }
        return added;
    }

    private string Seal(string name, string text)
    {
        var plain = Encoding.UTF8.GetBytes(text);
        var output = new byte[NonceBytes + TagBytes + plain.Length];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(secret.Key, TagBytes);
        aes.Encrypt(nonce, plain, output.AsSpan(NonceBytes + TagBytes), output.AsSpan(NonceBytes, TagBytes), AssociatedData(name));
        return Convert.ToBase64String(output);
    }

    private string Open(SealedElement element)
    {
        try
        {
            var input = Convert.FromBase64String(element.Sealed);
            var plain = new byte[input.Length - NonceBytes - TagBytes];
            using var aes = new AesGcm(secret.Key, TagBytes);
            aes.Decrypt(input.AsSpan(0, NonceBytes), input.AsSpan(NonceBytes + TagBytes), input.AsSpan(NonceBytes, TagBytes), plain, AssociatedData(element.Name));
            return Encoding.UTF8.GetString(plain);
        }
        catch (Exception exception) when (exception is CryptographicException or FormatException or OverflowException)
        {
            throw new InvalidOperationException(
                $"the key ring in the record store does not open with the key-ring secret from {secret.Origin} (key {element.Name}); every server sharing the store needs the secret the first one used");
        }
    }
}
