using System.Text.Json.Nodes;

namespace Cray.Cfs.Runner;

/// <summary>An image a session customizes: its IMS job and, once the job serves it, where its jail answers SSH.</summary>
public sealed record ImageHost(string ImageId, string JobId, string ResultName)
{
    public string Host { get; set; } = "";

    public int Port { get; set; }

    /// <summary>Cached layers the job restored under the jail.</summary>
    public int RestoredLayers { get; set; }

    /// <summary>The job as it ended (what its layers became), once the session's teardown saw it end.</summary>
    public JsonObject? FinalJob { get; set; }
}

/// <summary>
/// One running session's directory (keys, inventory, checked-out layers) and what the session has
/// started, so that cleanup knows what to undo.
/// </summary>
public sealed class SessionWorkspace(string name, string directory)
{
    public string Name { get; } = name;

    public string Directory { get; } = directory;

    /// <summary>The per-session key the IMS jails accept (image target only).</summary>
    public string ImagePrivateKey => Path.Combine(Directory, "id_image");

    /// <summary>Ansible's inventory: the additional inventory's checkout, plus the generated file.</summary>
    public string InventoryDirectory => Path.Combine(Directory, "hosts");

    public string LayerDirectory(string layer) => Path.Combine(Directory, "layer" + layer);

    public List<ImageHost> Images { get; } = [];

    public string? PublicKeyId { get; set; }

    /// <summary>SSH ControlPersist sockets: a short path, as a Unix socket path may not exceed 108 bytes.</summary>
    public string? ControlPathDirectory { get; set; }
}
