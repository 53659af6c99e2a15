using System.Reflection;

namespace Cray.Server;

public static class ServerVersion
{
    /// <summary>The informational version without its source-revision suffix.</summary>
    public static string Text { get; } =
        typeof(ServerVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";
}
