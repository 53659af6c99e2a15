using System.Buffers.Binary;
using System.Text;

namespace Cray.Ims.PublicKeys;

/// <summary>
/// What IMS takes as a public key: one line in OpenSSH's authorized_keys form without options,
/// "TYPE BASE64 [COMMENT]". The key goes into a job's authorized_keys file as it is, so an option
/// prefix (<c>command=</c>, <c>from=</c>) or a second line would change what the job's sshd
/// allows; the type must be one OpenSSH knows, and the base64 blob must decode and name that same type.
/// </summary>
public static class OpenSshPublicKey
{
    public static readonly IReadOnlyList<string> KnownTypes =
    [
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss",
    ];

    /// <summary>Null when the text is a public key IMS takes; otherwise what is wrong with it.</summary>
    public static string? Problem(string text)
    {
        var line = text.Trim();
        if (line.Contains('\n') || line.Contains('\r'))
        {
            return "A public key is one line; this has several.";
        }
        if (line.Any(character => char.IsControl(character) && character != '\t'))
        {
            return "A public key may not contain control characters.";
        }
        var fields = line.Split([' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2 || !KnownTypes.Contains(fields[0]))
        {
            return $"A public key starts with its type ({string.Join(", ", KnownTypes)}) and then its base64 blob; "
                + "options such as command= or from= are not accepted.";
        }
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(fields[1]);
        }
        catch (FormatException)
        {
            return "The public key's second field is not valid base64.";
        }
        // The blob starts with the key type again, as a length-prefixed string.
        if (blob.Length < 4 || BinaryPrimitives.ReadUInt32BigEndian(blob) is var length && length > blob.Length - 4
            || Encoding.ASCII.GetString(blob, 4, (int)length) != fields[0])
        {
            return $"The public key's blob is not a {fields[0]} key.";
        }
        return null;
    }
}
