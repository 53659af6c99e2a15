using System.Reflection;

namespace Cray.Platform;

/// <summary>The version an assembly was built as: its informational version without the source-revision suffix.</summary>
public static class ProductVersion
{
    public static string? Of(Assembly assembly) => assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
}
