using Spectre.Console;

namespace Cray.Cli.Output;

/// <summary>A Spectre console writing plain characters, no colour and no width limit: for tables on stdout, which may be a file.</summary>
public static class PlainConsole
{
    public static IAnsiConsole Create(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 400;
        return console;
    }
}
