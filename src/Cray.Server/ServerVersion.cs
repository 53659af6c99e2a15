namespace Cray.Server;

public static class ServerVersion
{
    /// <summary>The informational version without its source-revision suffix.</summary>
    public static string Text { get; } = Platform.ProductVersion.Of(typeof(ServerVersion).Assembly) ?? "unknown";
}
