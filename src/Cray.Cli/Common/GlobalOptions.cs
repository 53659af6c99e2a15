using System.CommandLine;
using Cray.Cli.Output;

namespace Cray.Cli.Common;

/// <summary>
/// The options every leaf command accepts, as in the reference CLI (they are not accepted on groups:
/// <c>cray --format json ims …</c> is a usage error there too).
/// </summary>
public static class GlobalOptions
{
    public static readonly Option<string> Format = new("--format")
    {
        Description = "Output format: json, toml or yaml (default toml; also CRAY_FORMAT or core.format)",
        HelpName = "FORMAT",
    };

    public static readonly Option<string> Configuration = new("--configuration")
    {
        Description = "Name of the configuration to use (also CRAY_CONFIG)",
        HelpName = "CONFIG",
    };

    public static readonly Option<string> Token = new("--token")
    {
        Description = "Path to a JSON token file (also CRAY_CREDENTIALS)",
        HelpName = "TOKEN_FILE_PATH",
    };

    public static readonly Option<bool> Quiet = new("--quiet")
    {
        Description = "Hide log lines; the result is still printed (also CRAY_QUIET)",
    };

    /// <summary>Counted from the raw arguments (-v, -vv, -vvv) before parsing; declared so that help lists it.</summary>
    public static readonly Option<bool> Verbose = new("-v")
    {
        Description = "Verbose output; -vv shows requests, -vvv also options and error bodies",
    };

    static GlobalOptions()
    {
        Format.AcceptOnlyFromAmong(OutputFormats.All);
    }

    public static void AddTo(Command command, bool includeFormat = true)
    {
        command.Options.Add(Configuration);
        if (includeFormat)
        {
            command.Options.Add(Format);
        }
        command.Options.Add(Token);
        command.Options.Add(Quiet);
        command.Options.Add(Verbose);
    }

    /// <summary>Removes -v, -vv and -vvv from the arguments and returns how many v's there were.</summary>
    public static (string[] Arguments, int Verbosity) ExtractVerbosity(string[] arguments)
    {
        var kept = new List<string>();
        var verbosity = 0;
        var afterSeparator = false;
        foreach (var argument in arguments)
        {
            if (!afterSeparator && argument.Length >= 2 && argument[0] == '-' && argument[1..].All(character => character == 'v'))
            {
                verbosity += argument.Length - 1;
                continue;
            }
            afterSeparator |= argument == "--";
            kept.Add(argument);
        }
        return ([.. kept], verbosity);
    }
}
