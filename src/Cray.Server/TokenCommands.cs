using System.CommandLine;
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
    /// <summary><c>tokens create NAME</c>, <c>tokens list</c> and <c>tokens delete NAME</c>, each with the store's flags.</summary>
    public static Command Build(TextWriter output, TextWriter error)
    {
        var dataDirectory = new Option<string>("--data-dir")
        {
            Description = "the data directory of the server whose tokens these are",
            HelpName = "DIR",
            Recursive = true,
            DefaultValueFactory = _ => ServerOptions.DefaultDataDirectory,
        };
        var store = new Option<string>("--store") { Description = "the server's --store, when its records are in PostgreSQL", HelpName = "ADDRESS", Recursive = true };
        var passwordFile = new Option<string>("--store-password-file") { Description = "file whose first line is the PostgreSQL password", HelpName = "FILE", Recursive = true };
        var tokens = new Command("tokens", "The bearer tokens a server started with --auth token accepts, managed on the server host.");
        tokens.Options.Add(dataDirectory);
        tokens.Options.Add(store);
        tokens.Options.Add(passwordFile);
        Command Subcommand(string name, string description, bool named)
        {
            var command = new Command(name, description);
            var tokenName = new Argument<string>("NAME") { Description = "the token's name: letters, digits, '.', '_', '-'; at most 64" };
            if (named)
            {
                command.Arguments.Add(tokenName);
            }
            command.SetAction((parseResult, cancellationToken) => RunAsync(name, named ? parseResult.GetValue(tokenName) : null,
                parseResult.GetValue(dataDirectory)!, parseResult.GetValue(store), parseResult.GetValue(passwordFile), output, error, cancellationToken));
            return command;
        }
        tokens.Subcommands.Add(Subcommand("create", "Makes a token and prints it, once.", named: true));
        tokens.Subcommands.Add(Subcommand("list", "Lists the tokens' names and when they were made.", named: false));
        tokens.Subcommands.Add(Subcommand("delete", "Deletes a token: requests with it are refused from then on.", named: true));
        return tokens;
    }

    private static async Task<int> RunAsync(string action, string? name, string dataDirectory, string? storeAddress, string? passwordFile,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        RecordStoreAddress address;
        try
        {
            address = RecordStoreAddress.Parse(storeAddress, Path.GetFullPath(dataDirectory), passwordFile, Environment.GetEnvironmentVariable);
        }
        catch (ArgumentException exception)
        {
            error.WriteLine($"cray-server tokens: {exception.Message}");
            return 2;
        }
        if (name is not null && !TokenName().IsMatch(name))
        {
            error.WriteLine($"cray-server tokens: '{name}' is not a token name (letters, digits, '.', '_', '-'; at most 64).");
            return 2;
        }
        // A typo in --data-dir must not create a database the server never reads.
        if (address.SqlitePath is { } database && !File.Exists(database))
        {
            error.WriteLine($"cray-server tokens: no database at {database}; give the --data-dir of a server that has started once.");
            return 2;
        }
        var store = await address.OpenAsync(cancellationToken);
        var tokens = new AccessTokens(store, TimeProvider.System);
        switch (action)
        {
            case "create":
                string secret;
                try
                {
                    secret = await tokens.CreateAsync(name!, cancellationToken);
                }
                catch (RecordConflictException)
                {
                    error.WriteLine($"cray-server tokens: a token named {name} exists; delete it first to replace it.");
                    return 2;
                }
                output.WriteLine(new JsonObject { ["access_token"] = secret, ["token_type"] = "Bearer", ["name"] = name }.ToJsonString());
                error.WriteLine("The token is shown only this once. Save it in a file only you can read (chmod 600), then `cray auth login` or `cray --token FILE`.");
                return 0;
            case "delete":
                if (!await tokens.DeleteAsync(name!, cancellationToken))
                {
                    error.WriteLine($"cray-server tokens: no token named {name}.");
                    return 2;
                }
                output.WriteLine($"Deleted token {name}.");
                return 0;
            default:
                foreach (var token in (await tokens.ListAsync(cancellationToken)).OrderBy(token => token.Name, StringComparer.Ordinal))
                {
                    output.WriteLine($"{token.Name}\tcreated {token.Created}");
                }
                return 0;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex TokenName();
}
