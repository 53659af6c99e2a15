namespace Cray.Cli.Common;

/// <summary>
/// Where one run of <c>cray</c> reads and writes: its standard streams, its environment variables
/// and its verbosity. The program runs on <see cref="System"/>; tests run commands in-process, in
/// parallel, each on its own host, so nothing here is global to the process.
/// </summary>
public sealed class CliHost
{
    private static readonly AsyncLocal<CliHost?> CurrentHost = new();

    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public required TextReader In { get; init; }

    /// <summary>Whether standard input is a pipe or file rather than a terminal (then nothing is read key by key).</summary>
    public required bool InputIsRedirected { get; init; }

    /// <summary>Whether standard error is not a terminal (then no progress bar is drawn).</summary>
    public required bool ErrorIsRedirected { get; init; }

    public required Func<string, string?> Variable { get; init; }

    /// <summary>How many -v were given; counted before parsing.</summary>
    public int Verbosity { get; set; }

    /// <summary>The process's own console and environment.</summary>
    public static CliHost System() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
        InputIsRedirected = Console.IsInputRedirected,
        ErrorIsRedirected = Console.IsErrorRedirected,
        Variable = Environment.GetEnvironmentVariable,
    };

    /// <summary>The host of the run in progress (set by <see cref="CrayCommandLine.RunAsync"/>).</summary>
    public static CliHost Current
    {
        get => CurrentHost.Value ?? throw new InvalidOperationException("No cray run is in progress on this flow.");
        set => CurrentHost.Value = value;
    }
}
