namespace Cray.Server;

/// <summary>One <c>cray-server</c> flag: its name without dashes (the configuration key), the value's name in help, and its help.</summary>
public sealed record ServerFlag(string Name, string ValueName, string Help)
{
    /// <summary>Where the flag's value comes from when the command line does not give it, as <c>cray</c> reads CRAY_FORMAT.</summary>
    public string EnvironmentVariable => "CRAY_SERVER_" + Name.Replace('-', '_').ToUpperInvariant();
}
