using System.Net;

namespace Cray.Server;

/// <summary>The server's command-line flags, checked before anything starts.</summary>
public sealed record ServerOptions(string ListenHost, int ListenPort, string DataDirectory, IReadOnlySet<string> Roles)
{
    public const string DefaultListen = "127.0.0.1:8280";
    public const string DefaultDataDirectory = "/var/lib/cray-server";
    public static readonly string[] AllRoles = ["api", "ims-worker", "cfs-runner"];

    public string ListenUrl => $"http://{(ListenHost.Contains(':') ? $"[{ListenHost}]" : ListenHost)}:{ListenPort}";

    public bool HasRole(string role) => Roles.Contains(role);

    /// <summary>Reads <c>listen</c>, <c>data-dir</c> and <c>roles</c> from configuration (flags, environment or test settings).</summary>
    public static ServerOptions FromConfiguration(IConfiguration configuration)
    {
        var listen = configuration["listen"] ?? DefaultListen;
        var (host, port) = ParseListen(listen);
        var dataDirectory = Path.GetFullPath(configuration["data-dir"] ?? DefaultDataDirectory);
        var rolesText = configuration["roles"] ?? "all";
        var roles = rolesText == "all"
            ? AllRoles.ToHashSet()
            : rolesText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var unknown = roles.Except(AllRoles).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"--roles: unknown role(s) {string.Join(", ", unknown)}; choose from {string.Join(", ", AllRoles)} or 'all'.");
        }
        return new ServerOptions(host, port, dataDirectory, roles);
    }

    private static (string Host, int Port) ParseListen(string listen)
    {
        var separator = listen.LastIndexOf(':');
        if (separator <= 0 || !int.TryParse(listen[(separator + 1)..], out var port) || port is < 0 or > 65535)
        {
            throw new ArgumentException($"--listen: '{listen}' is not HOST:PORT (for example {DefaultListen}).");
        }
        var host = listen[..separator].Trim('[', ']');
        var loopback = host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
        if (!loopback)
        {
            throw new ArgumentException(
                $"--listen: refusing to listen on {host}: authentication is not configured, so cray-server only listens on a loopback address (127.0.0.1, ::1 or localhost).");
        }
        return (host, port);
    }
}
