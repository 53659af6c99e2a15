using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Configuration;

/// <summary>
/// <c>cray auth login</c>: the reference logs in to Keycloak with a username and password and keeps
/// the token. cray-server (with <c>--auth token</c>) hands out access tokens instead
/// (<c>cray-server tokens create NAME</c>): login takes the token as the password, checks it
/// against the server and keeps it where the reference keeps its token (0600).
/// </summary>
public static class AuthCommands
{
    public static Command Build()
    {
        var username = new Option<string>("--username") { Description = "User name (the token's name is a good choice)", HelpName = "USERNAME" };
        var password = new Option<string>("--password") { Description = "The access token (prompted when missing; prefer the prompt or standard input)", HelpName = "TOKEN" };
        var login = new Command("login", "Log in with an access token from `cray-server tokens create NAME`");
        foreach (var option in new Option[] { username, password, GlobalOptions.Configuration, GlobalOptions.Quiet })
        {
            login.Options.Add(option);
        }
        login.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                var configuration = CrayConfiguration.Load(parseResult.GetValue(GlobalOptions.Configuration) ?? Environment.GetEnvironmentVariable("CRAY_CONFIG"));
                await LoginAsync(configuration, parseResult.GetValue(username), parseResult.GetValue(password), cancellationToken);
                return 0;
            }
            catch (CliException exception)
            {
                return Leaf.Report(parseResult, exception);
            }
        });
        return Leaf.Group("auth", "Manage OAuth2 credentials for the Cray CLI", login);
    }

    /// <summary>Asks for what is missing, checks the token against the server, and saves it for the configuration's user.</summary>
    public static async Task LoginAsync(CrayConfiguration configuration, string? username, string? token, CancellationToken cancellationToken)
    {
        var hostname = configuration.Hostname ?? throw new CliException("The configuration has no core.hostname. Run `cray init` first.");
        username ??= configuration.Get("auth.login.username") as string ?? Prompts.Ask("Username");
        token ??= Prompts.AskSecret("Password (access token)");
        if (await RequiresTokenAsync(hostname, token.Trim(), cancellationToken))
        {
            throw new CliException("Invalid Credentials");
        }
        configuration.Set("auth", "login", new Tomlyn.Model.TomlTable { ["username"] = username });
        configuration.Save();
        Directory.CreateDirectory(CrayConfiguration.TokensDirectory);
        CrayConfiguration.WriteAtomically(CrayConfiguration.TokenFilePath(hostname, username),
            new JsonObject { ["access_token"] = token.Trim(), ["token_type"] = "Bearer" }.ToJsonString());
        Console.WriteLine("Success!");
    }

    /// <summary>Whether the server answers 401 to a request that carries <paramref name="token"/> (or none, when it is null).</summary>
    public static async Task<bool> RequiresTokenAsync(string hostname, string? token, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true }, ConnectTimeout = TimeSpan.FromSeconds(30) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(1) };
        using var request = new HttpRequestMessage(HttpMethod.Get, hostname.TrimEnd('/') + "/apis/ims/v3/public-keys");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return response.StatusCode == HttpStatusCode.Unauthorized;
        }
        catch (HttpRequestException)
        {
            throw new CliException("Unable to login!");
        }
    }
}
