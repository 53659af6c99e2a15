using Cray.Cli.Common;
using Spectre.Console;

namespace Cray.Cli.Artifacts;

/// <summary>One transfer's progress; the terminal form draws a bar, the plain form logs a line at start.</summary>
public interface ITransferTask
{
    void Advance(long bytes);
}

/// <summary>Shows progress bars on stderr when it is a terminal, and plain log lines otherwise.</summary>
public sealed class TransferProgress
{
    private readonly CliContext context;
    private ProgressContext? bars;

    private TransferProgress(CliContext context) => this.context = context;

    public static async Task<T> RunAsync<T>(CliContext context, Func<TransferProgress, Task<T>> work)
    {
        var progress = new TransferProgress(context);
        if (context.Quiet || CliHost.Current.ErrorIsRedirected)
        {
            return await work(progress);
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(CliHost.Current.Error) });
        T result = default!;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async bars =>
            {
                progress.bars = bars;
                result = await work(progress);
            });
        return result;
    }

    public ITransferTask Start(string description, long totalBytes)
    {
        if (bars is null)
        {
            context.Log($"{description} ({FormatSize(totalBytes)})");
            return new SilentTask();
        }
        return new BarTask(bars.AddTask(Markup.Escape(description), maxValue: Math.Max(totalBytes, 1)));
    }

    /// <summary>A step without a byte count (packing a directory, say) shown as an indeterminate bar.</summary>
    public async Task<T> StepAsync<T>(string description, Func<Task<T>> step)
    {
        if (bars is null)
        {
            context.Log(description);
            return await step();
        }
        var task = bars.AddTask(Markup.Escape(description), maxValue: 1);
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

    private sealed class SilentTask : ITransferTask
    {
        public void Advance(long bytes)
        {
        }
    }

    private sealed class BarTask(ProgressTask task) : ITransferTask
    {
        public void Advance(long bytes) => task.Increment(bytes);
    }
}
