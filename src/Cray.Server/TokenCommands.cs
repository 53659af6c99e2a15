using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cray.Platform.Authentication;
using Cray.Platform.Storage;

namespace Cray.Server;

/// <summary>
/// <c>cray-server tokens create NAME | list | delete NAME [--data-dir DIR]</c>: the bearer tokens a
/// server started with <c>--auth token</c> accepts, managed on the server host itself (whoever can
/// open the data directory is already the server's admin).
/// </summary>
public static partial class TokenCommands
{
    private static readonly string[] StoreFlags = ["--data-dir", "--store", "--store-password-file"];

    private const string Usage = "Usage: cray-server tokens create NAME | list | delete NAME [--data-dir DIR] [--store ADDRESS [--store-password-file FILE]]";

    public static async Task<int> RunAsync(string[] arguments)
    {
        var flags = new Dictionary<string, string>
        {
            ["--data-dir"] = ServerOptions.DefaultDataDirectory,
        };
        var words = new List<string>();
        for (var index = 0; index < arguments.Length; index++)
        {
            var flag = StoreFlags.FirstOrDefault(name =>
                arguments[index] == name || arguments[index].StartsWith(name + "=", StringComparison.Ordinal));
            if (flag is null)
            {
                words.Add(arguments[index]);
            }
            else if (arguments[index] == flag && index + 1 < arguments.Length)
            {
                flags[flag] = arguments[++index];
            }
            else
            {
                flags[flag] = arguments[index][(flag.Length + 1)..];
            }
        }
        RecordStoreAddress address;
        try
        {
            address = RecordStoreAddress.Parse(flags.GetValueOrDefault("--store"), Path.GetFullPath(flags["--data-dir"]),
                flags.GetValueOrDefault("--store-password-file"), Environment.GetEnvironmentVariable);
        }
        catch (ArgumentException exception)
        {
            Console.Error.WriteLine($"cray-server tokens: {exception.Message}");
            return 2;
        }
        if (words is not (["create", _] or ["delete", _] or ["list"]))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (words.Count == 2 && !TokenName().IsMatch(words[1]))
        {
            Console.Error.WriteLine($"cray-server tokens: '{words[1]}' is not a token name (letters, digits, '.', '_', '-'; at most 64).");
            return 2;
        }
        // A typo in --data-dir must not create a database the server never reads.
        if (address.SqlitePath is { } database && !File.Exists(database))
        {
            Console.Error.WriteLine($"cray-server tokens: no database at {database}; give the --data-dir of a server that has started once.");
            return 2;
        }
        var store = await address.OpenAsync();
        var tokens = new AccessTokens(store, TimeProvider.System);
        switch (words)
        {
            case ["create", var name]:
                string secret;
                try
                {
                    secret = await tokens.CreateAsync(name, CancellationToken.None);
                }
                catch (RecordConflictException)
                {
                    Console.Error.WriteLine($"cray-server tokens: a token named {name} exists; delete it first to replace it.");
                    return 2;
                }
                Console.WriteLine(new JsonObject { ["access_token"] = secret, ["token_type"] = "Bearer", ["name"] = name }.ToJsonString());
                Console.Error.WriteLine("The token is shown only this once. Save it in a file only you can read (chmod 600), then `cray auth login` or `cray --token FILE`.");
                return 0;
            case ["delete", var name]:
                if (!await tokens.DeleteAsync(name, CancellationToken.None))
                {
                    Console.Error.WriteLine($"cray-server tokens: no token named {name}.");
                    return 2;
                }
                Console.WriteLine($"Deleted token {name}.");
                return 0;
            default:
                foreach (var token in (await tokens.ListAsync(CancellationToken.None)).OrderBy(token => token.Name, StringComparer.Ordinal))
                {
                    Console.WriteLine($"{token.Name}\tcreated {token.Created}");
                }
                return 0;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex TokenName();
}
