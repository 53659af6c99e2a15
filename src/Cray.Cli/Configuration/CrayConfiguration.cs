using Cray.Cli.Common;
using Tomlyn;
using Tomlyn.Model;

namespace Cray.Cli.Configuration;

/// <summary>
/// The CLI's configuration files, laid out as the reference CLI's: <c>active_config</c> names the
/// active configuration and <c>configurations/&lt;name&gt;</c> holds each one as TOML.
/// </summary>
public sealed class CrayConfiguration
{
    public const string DefaultName = "default";

    private CrayConfiguration(string name, string path, TomlTable table)
    {
        Name = name;
        FilePath = path;
        Table = table;
    }

    public string Name { get; }

    public string FilePath { get; }

    public TomlTable Table { get; }

    /// <summary><c>CRAY_CONFIG_DIR</c> when set, else <c>~/.config/cray</c>.</summary>
    public static string Directory
    {
        get
        {
            var overridden = CliHost.Current.Variable("CRAY_CONFIG_DIR");
            return string.IsNullOrEmpty(overridden)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "cray")
                : overridden;
        }
    }

    public static string ConfigurationsDirectory => Path.Combine(Directory, "configurations");

    public static string ActiveConfigPath => Path.Combine(Directory, "active_config");

    public static string ActiveName
    {
        get
        {
            try
            {
                var name = File.ReadAllText(ActiveConfigPath).Trim();
                return name.Length == 0 ? DefaultName : name;
            }
            catch (IOException)
            {
                return DefaultName;
            }
        }
    }

    public static string PathOf(string name)
    {
        if (name.Length == 0 || name.Contains('/') || name.Contains('\0') || name is "." or "..")
        {
            throw new CliException($"Invalid configuration name '{name}'.");
        }
        return Path.Combine(ConfigurationsDirectory, name);
    }

    public static bool Exists(string name) => File.Exists(PathOf(name));

    public static IReadOnlyList<string> ListNames()
        => System.IO.Directory.Exists(ConfigurationsDirectory)
            ? System.IO.Directory.EnumerateFiles(ConfigurationsDirectory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Loads a configuration; without one the reference tells the user to run <c>cray init</c>.</summary>
    public static CrayConfiguration Load(string? name)
    {
        var chosen = string.IsNullOrEmpty(name) ? ActiveName : name;
        var path = PathOf(chosen);
        if (!File.Exists(path))
        {
            var suffix = chosen == DefaultName ? "" : $" --configuration {chosen}";
            throw new CliException($"No configuration exists. Run `cray init{suffix}`");
        }
        TomlTable table;
        try
        {
            table = TomlSerializer.Deserialize<TomlTable>(File.ReadAllText(path)) ?? new TomlTable();
        }
        catch (TomlException exception)
        {
            throw new CliException($"The configuration file {path} is not valid TOML: {exception.Message}");
        }
        return new CrayConfiguration(chosen, path, table);
    }

    public static CrayConfiguration CreateEmpty(string name) => new(name, PathOf(name), new TomlTable());

    public static void Activate(string name)
    {
        System.IO.Directory.CreateDirectory(Directory);
        WriteAtomically(ActiveConfigPath, name);
    }

    public string? Hostname => Get("core.hostname") as string;

    public string? Tenant => Get("core.tenant") as string;

    /// <summary>Reads a dotted path such as <c>core.hostname</c>; null when any part is missing.</summary>
    public object? Get(string dottedPath)
    {
        object? current = Table;
        foreach (var part in dottedPath.Split('.'))
        {
            if (current is not TomlTable table || !table.TryGetValue(part, out current))
            {
                return null;
            }
        }
        return current;
    }

    /// <summary>Sets <c>key</c> inside the table at the dotted <c>section</c>, creating tables as needed.</summary>
    public void Set(string section, string key, object value)
    {
        var table = Table;
        foreach (var part in section.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!table.TryGetValue(part, out var child) || child is not TomlTable childTable)
            {
                childTable = new TomlTable();
                table[part] = childTable;
            }
            table = childTable;
        }
        table[key] = value;
    }

    /// <summary>Removes the value at a dotted path; returns false when it was not there.</summary>
    public bool Unset(string dottedPath)
    {
        var parts = dottedPath.Split('.');
        var table = Table;
        foreach (var part in parts[..^1])
        {
            if (!table.TryGetValue(part, out var child) || child is not TomlTable childTable)
            {
                return false;
            }
            table = childTable;
        }
        return table.Remove(parts[^1]);
    }

    public void Save()
    {
        System.IO.Directory.CreateDirectory(ConfigurationsDirectory);
        WriteAtomically(FilePath, TomlSerializer.Serialize(Table));
    }

    public static string TokensDirectory => Path.Combine(Directory, "tokens");

    /// <summary>The reference's token file name: the host's netloc and the user, with '-' and '.' as '_'.</summary>
    public static string TokenFilePath(string hostname, string username)
    {
        var withoutScheme = hostname.Contains("://", StringComparison.Ordinal) ? hostname[(hostname.IndexOf("://", StringComparison.Ordinal) + 3)..] : hostname;
        var netloc = withoutScheme.Split('/')[0];
        return Path.Combine(TokensDirectory, $"{FileNamePart(netloc.Replace('-', '_').Replace('.', '_'))}.{FileNamePart(username.Replace('.', '_'))}");
    }

    /// <summary>Keeps a name one path component: anything but letters, digits and _ : @ - becomes '_'.</summary>
    private static string FileNamePart(string text)
        => new(text.Select(character => char.IsAsciiLetterOrDigit(character) || character is '_' or ':' or '@' or '-' ? character : '_').ToArray());

    /// <summary>Writes a private file (0600) by rename, so a crash never leaves half a configuration.</summary>
    public static void WriteAtomically(string path, string content)
    {
        var temporary = path + ".tmp-" + Environment.ProcessId;
        // A leftover from a crash would keep its old mode through FileMode.Create.
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var writer = new StreamWriter(temporary, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options))
        {
            writer.Write(content);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
