using System.CommandLine;
using Cray.Cli.Configuration;
using Cray.Cli.Http;
using Cray.Cli.Output;
using Tomlyn.Model;

namespace Cray.Cli.Common;

/// <summary>What one invocation of a leaf command knows: its parsed options, the configuration and the server.</summary>
public sealed class CliContext(ParseResult parseResult, int verbosity)
{
    private CrayConfiguration? configuration;
    private ApiClient? api;

    public ParseResult ParseResult { get; } = parseResult;

    public int Verbosity { get; } = verbosity;

    /// <summary>The command's words after <c>cray</c>, such as <c>ims images list</c>.</summary>
    public IReadOnlyList<string> CommandPath
    {
        get
        {
            var names = new List<string>();
            for (var result = ParseResult.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            {
                if (result.Command is not RootCommand)
                {
                    names.Insert(0, result.Command.Name);
                }
            }
            return names;
        }
    }

    public string? ConfigurationName => Explicit(GlobalOptions.Configuration) ?? CliHost.Current.Variable("CRAY_CONFIG");

    public CrayConfiguration Configuration => configuration ??= CrayConfiguration.Load(ConfigurationName);

    public ApiClient Api => api ??= new ApiClient(this);

    public bool Quiet => ParseResult.GetValue(GlobalOptions.Quiet)
        || IsTrue(CliHost.Current.Variable("CRAY_QUIET"))
        || ConfigurationValueOrNull("core.quiet") is true;

    /// <summary>--token, else CRAY_CREDENTIALS, else the token file `cray auth login` wrote for the configured user.</summary>
    public string? TokenPath => Explicit(GlobalOptions.Token) ?? CliHost.Current.Variable("CRAY_CREDENTIALS") ?? LoginTokenPath;

    private string? LoginTokenPath
        => Configuration.Hostname is { } hostname && ConfigurationValueOrNull("auth.login.username") is string username
            && CrayConfiguration.TokenFilePath(hostname, username) is var path && File.Exists(path)
            ? path
            : null;

    /// <summary>Flag, then CRAY_FORMAT, then the configuration's core.format, then toml.</summary>
    public string Format
    {
        get
        {
            var format = Explicit(GlobalOptions.Format)
                ?? CliHost.Current.Variable("CRAY_FORMAT")
                ?? ConfigurationValueOrNull("core.format") as string
                ?? OutputFormats.Toml;
            if (!OutputFormats.All.Contains(format))
            {
                throw new CliException($"Invalid value for '--format': '{format}' is not one of 'json', 'toml', 'yaml'.", showUsage: true);
            }
            return format;
        }
    }

    /// <summary>
    /// An option's value with the reference's precedence: the flag, then <c>CRAY_&lt;COMMAND&gt;_&lt;OPTION&gt;</c>,
    /// then the configuration key <c>&lt;command path&gt;.&lt;option&gt;</c>, then the option's own default.
    /// </summary>
    public T? Value<T>(Option<T> option)
    {
        var result = ParseResult.GetResult(option);
        if (result is not null && !result.Implicit)
        {
            return ParseResult.GetValue(option);
        }
        var text = EnvironmentOrConfigurationText(option);
        return text is null ? ParseResult.GetValue(option) : ConvertText<T>(text, option.Name);
    }

    /// <summary>Whether the option has a value from the command line, the environment or the configuration (a default does not count).</summary>
    public bool IsGiven(Option option)
        => ParseResult.GetResult(option) is { Implicit: false } || EnvironmentOrConfigurationText(option) is not null;

    private string? EnvironmentOrConfigurationText(Option option)
    {
        var variable = option.Name.TrimStart('-').Replace('-', '_');
        var environmentName = "CRAY_" + string.Join('_', CommandPath.Select(word => word.Replace('-', '_').ToUpperInvariant())) + "_" + variable.ToUpperInvariant();
        return CliHost.Current.Variable(environmentName)
            ?? ConfigurationValueOrNull(string.Join('.', CommandPath) + "." + variable)?.ToString();
    }

    /// <summary>A boolean option's value, with the same precedence.</summary>
    public bool? Value(Option<BooleanArgument?> option) => Value<BooleanArgument?>(option)?.Value;

    private static T ConvertText<T>(string text, string optionName)
    {
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (target == typeof(string))
        {
            return (T)(object)text;
        }
        if (target == typeof(BooleanArgument) && BooleanText.TryParse(text, out var flag))
        {
            return (T)(object)new BooleanArgument(flag);
        }
        if (target == typeof(FileInfo))
        {
            return (T)(object)new FileInfo(text);
        }
        if (target == typeof(int) && int.TryParse(text, out var number))
        {
            return (T)(object)number;
        }
        throw new CliException($"Invalid value for '{optionName}' from the environment or configuration: '{text}'.", showUsage: true);
    }

    public string? Explicit(Option<string> option)
    {
        var result = ParseResult.GetResult(option);
        return result is null || result.Implicit ? null : ParseResult.GetValue(option);
    }

    /// <summary>Writes a log line to stderr unless quiet.</summary>
    public void Log(string line)
    {
        if (!Quiet)
        {
            CliHost.Current.Error.WriteLine(line);
        }
    }

    private object? ConfigurationValueOrNull(string dottedPath)
    {
        try
        {
            return Configuration.Get(dottedPath) is TomlTable ? null : Configuration.Get(dottedPath);
        }
        catch (CliException)
        {
            return null;
        }
    }

    private static bool IsTrue(string? text) => text is not null && BooleanText.TryParse(text, out var flag) && flag;
}
