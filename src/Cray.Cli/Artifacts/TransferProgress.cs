using Cray.Cli.Common;
using Spectre.Console;

namespace Cray.Cli.Artifacts;

/// <summary>One transfer's progress; the terminal form draws a bar, the plain form logs one line when it completes.</summary>
public interface ITransferTask
{
    void Advance(long bytes);

    /// <summary>The transfer succeeded (an upload once the server confirmed what it stored).</summary>
    void Complete();
}

/// <summary>
/// Shows progress bars on stderr when it is a terminal; otherwise (a log file, CI) nothing while
/// the work goes on and one line for each transfer or step when it is done.
/// </summary>
public sealed class TransferProgress
{
    private readonly Action<string> log;
    private readonly TimeProvider time;
    private ProgressContext? bars;

    private TransferProgress(Action<string> log, TimeProvider time)
    {
        this.log = log;
        this.time = time;
    }

    public static Task<T> RunAsync<T>(CliContext context, Func<TransferProgress, Task<T>> work)
        => context.Quiet || CliHost.Current.ErrorIsRedirected
            ? RunPlainAsync(context.Log, TimeProvider.System, work)
            : RunAsync(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(CliHost.Current.Error) }), work);

    /// <summary>The form for a log: <paramref name="log"/> gets each transfer's final line.</summary>
    internal static Task<T> RunPlainAsync<T>(Action<string> log, TimeProvider time, Func<TransferProgress, Task<T>> work) => work(new TransferProgress(log, time));

    /// <summary>The longest label a bar gets: with the bar and the figures, a transfer keeps to one line of 80 columns.</summary>
    public const int LabelWidth = 18;

    /// <summary>Bars on this console (tests render on a console of a given width).</summary>
    internal static async Task<T> RunAsync<T>(IAnsiConsole console, Func<TransferProgress, Task<T>> work)
    {
        var progress = new TransferProgress(_ => { }, TimeProvider.System);
        T result = default!;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 14 }, new PercentageColumn(),
                new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async bars =>
            {
                progress.bars = bars;
                result = await work(progress);
            });
        return result;
    }

    /// <param name="label">What the bar says: a file's name, kept short.</param>
    /// <param name="description">The whole story for the log form, such as the object's URL.</param>
    public ITransferTask Start(string label, string description, long totalBytes)
        => bars is null
            ? new LoggedTask(this, description, time.GetTimestamp())
            : new BarTask(bars.AddTask(Markup.Escape(Shortened(label)), maxValue: Math.Max(totalBytes, 1)));

    /// <summary>A label cut to <see cref="LabelWidth"/>, keeping its end (a file name's end tells files apart).</summary>
    public static string Shortened(string label) => label.Length <= LabelWidth ? label : "…" + label[^(LabelWidth - 1)..];

    /// <summary>A step without a byte count (packing a directory, say) shown as an indeterminate bar.</summary>
    public async Task<T> StepAsync<T>(string label, string description, Func<Task<T>> step)
    {
        if (bars is null)
        {
            var started = time.GetTimestamp();
            var result = await step();
            log($"{description}: done in {Seconds(time.GetElapsedTime(started))}");
            return result;
        }
        var task = bars.AddTask(Markup.Escape(Shortened(label)), maxValue: 1);
        task.IsIndeterminate = true;
        try
        {
            return await step();
        }
        finally
        {
            task.IsIndeterminate = false;
            task.Value = 1;
        }
    }

    public static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };

    private static string Seconds(TimeSpan elapsed) => $"{elapsed.TotalSeconds:0.0} s";

    private sealed class LoggedTask(TransferProgress progress, string description, long started) : ITransferTask
    {
        private long bytes;

        public void Advance(long count) => bytes += count;

        public void Complete()
        {
            var elapsed = progress.time.GetElapsedTime(started);
            var rate = elapsed.TotalSeconds > 0 ? $", {FormatSize((long)(bytes / elapsed.TotalSeconds))}/s" : "";
            progress.log($"{description}: {FormatSize(bytes)} in {Seconds(elapsed)}{rate}");
        }
    }

    private sealed class BarTask(ProgressTask task) : ITransferTask
    {
        public void Advance(long bytes) => task.Increment(bytes);

        // A download without a length, or a file that changed size, still ends its bar full.
        public void Complete() => task.Value = task.MaxValue;
    }
}
