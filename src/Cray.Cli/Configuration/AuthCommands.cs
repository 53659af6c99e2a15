using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Cray.Cli.Common;
using Cray.Cli.Http;

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
                var configuration = CrayConfiguration.Load(parseResult.GetValue(GlobalOptions.Configuration) ?? CliHost.Current.Variable("CRAY_CONFIG"));
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
        if (Uri.TryCreate(hostname, UriKind.Absolute, out var address))
        {
            ApiClient.RefuseTokenOverPlainHttp(address);
        }
        username ??= configuration.Get("auth.login.username") as string ?? Prompts.Ask("Username");
        if (token is not null)
        {
            CliHost.Current.Error.WriteLine("Note: a token given with --password can be read by other users of this machine (ps); the prompt or standard input keep it private.");
        }
        token = (token ?? Prompts.AskSecret("Password (access token)")).Trim();
        if (await StatusWithTokenAsync(hostname, token, cancellationToken) is not (>= 200 and < 300))
        {
            throw new CliException("Invalid Credentials");
        }
        try
        {
            Directory.CreateDirectory(CrayConfiguration.TokensDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            CrayConfiguration.WriteAtomically(CrayConfiguration.TokenFilePath(hostname, username),
                new JsonObject { ["access_token"] = token, ["token_type"] = "Bearer" }.ToJsonString());
            configuration.Set("auth", "login", new Tomlyn.Model.TomlTable { ["username"] = username });
            configuration.Save();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Unable to login! The token could not be saved: {exception.Message}");
        }
        CliHost.Current.Out.WriteLine("Success!");
    }

    /// <summary>Whether the server answers 401 to a request without a token.</summary>
    public static async Task<bool> RequiresTokenAsync(string hostname, CancellationToken cancellationToken)
        => await StatusWithTokenAsync(hostname, token: null, cancellationToken) == (int)HttpStatusCode.Unauthorized;

    private static async Task<int> StatusWithTokenAsync(string hostname, string? token, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(ApiClient.NewHandler()) { Timeout = TimeSpan.FromMinutes(1) };
        using var request = new HttpRequestMessage(HttpMethod.Get, hostname.TrimEnd('/') + "/apis/ims/v3/public-keys");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            throw new CliException("Unable to login!");
        }
    }
}
