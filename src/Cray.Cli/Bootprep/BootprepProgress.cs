using System.Diagnostics;
using Cray.Cli.Common;
using Spectre.Console;

namespace Cray.Cli.Bootprep;

/// <summary>
/// What runs, each item's phase and how long it has taken: a table redrawn in place on a terminal,
/// a log line per change otherwise (and nothing with --quiet).
/// </summary>
public sealed class BootprepProgress
{
    private readonly Action<string> log;
    private readonly Stopwatch total = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private readonly Lock drawing = new();
    private readonly List<string> order = [];
    private readonly Dictionary<string, (string Phase, Stopwatch Elapsed, bool Finished)> items = new(StringComparer.Ordinal);
    private LiveDisplayContext? live;
    private int width = 80;

    private BootprepProgress(Action<string> log) => this.log = log;

    public static Task<T> RunAsync<T>(CliContext context, Func<BootprepProgress, Task<T>> work)
        => context.Quiet || CliHost.Current.ErrorIsRedirected
            ? work(new BootprepProgress(context.Log))
            : RunAsync(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(CliHost.Current.Error) }), work);

    /// <summary>The table on this console (tests render on a console of a given width).</summary>
    internal static async Task<T> RunAsync<T>(IAnsiConsole console, Func<BootprepProgress, Task<T>> work)
    {
        var progress = new BootprepProgress(_ => { }) { width = console.Profile.Width };
        T result = default!;
        await console.Live(progress.Table()).AutoClear(false).StartAsync(async display =>
        {
            progress.live = display;
            using var stop = new CancellationTokenSource();
            var ticker = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
                while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
                {
                    progress.Redraw();
                }
            }, CancellationToken.None);
            try
            {
                result = await work(progress);
            }
            finally
            {
                await stop.CancelAsync();
                await ticker.ContinueWith(_ => { }, TaskScheduler.Default);
                progress.Redraw();
                progress.live = null;
            }
        });
        return result;
    }

    /// <summary>Shows an item's new phase (the item's clock starts at its first phase).</summary>
    public void Update(string item, string phase) => Change(item, phase, finished: false);

    /// <summary>Shows an item's last phase and stops its clock.</summary>
    public void Finish(string item, string outcome) => Change(item, outcome, finished: true);

    private void Change(string item, string phase, bool finished)
    {
        TimeSpan elapsed;
        lock (gate)
        {
            if (!items.TryGetValue(item, out var state))
            {
                order.Add(item);
                state = ("", Stopwatch.StartNew(), false);
            }
            if (finished)
            {
                state.Elapsed.Stop();
            }
            var changed = state.Phase != phase;
            items[item] = (phase, state.Elapsed, finished);
            elapsed = state.Elapsed.Elapsed;
            if (!changed)
            {
                return;
            }
        }
        if (live is null)
        {
            log($"[{total.Elapsed:hh\\:mm\\:ss}] {item}: {phase}{(finished ? $" (after {Duration(elapsed)})" : "")}");
        }
        else
        {
            Redraw();
        }
    }

    private void Redraw()
    {
        // The ticker and the items' tasks redraw from different threads.
        lock (drawing)
        {
            if (live is { } display)
            {
                display.UpdateTarget(Table());
                display.Refresh();
            }
        }
    }

    private Table Table()
    {
        // One line per item at any width: Spectre wraps at spaces whatever the column says, so a long
        // name or phase is cut here, to the column's width (the log form keeps it whole).
        var timeWidth = 8;
        var itemWidth = Math.Max(8, (width - 12 - timeWidth) * 9 / 20);
        var phaseWidth = Math.Max(8, width - 12 - timeWidth - itemWidth);
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn(new TableColumn("Item").Width(itemWidth).NoWrap())
            .AddColumn(new TableColumn("Phase").Width(phaseWidth).NoWrap())
            .AddColumn(new TableColumn("Time").Width(timeWidth).RightAligned().NoWrap());
        table.Caption = new TableTitle($"cray bootprep run: {Duration(total.Elapsed)}");
        lock (gate)
        {
            foreach (var item in order)
            {
                var (phase, elapsed, finished) = items[item];
                table.AddRow(
                    new Text(Clip(item, itemWidth)),
                    new Text(Clip(phase, phaseWidth), finished ? Style.Plain : new Style(decoration: Decoration.Bold)),
                    new Text(Duration(elapsed.Elapsed)));
            }
        }
        return table;
    }

    private static string Clip(string text, int columns) => text.Length <= columns ? text : text[..(columns - 1)] + "…";

    public static string Duration(TimeSpan elapsed)
        => elapsed.TotalHours >= 1 ? $"{(int)elapsed.TotalHours}h{elapsed.Minutes:00}m{elapsed.Seconds:00}s"
            : elapsed.TotalMinutes >= 1 ? $"{elapsed.Minutes}m{elapsed.Seconds:00}s"
            : $"{elapsed.Seconds}s";
}
