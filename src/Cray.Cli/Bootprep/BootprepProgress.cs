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
    private readonly CliContext context;
    private readonly Stopwatch total = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private readonly Lock drawing = new();
    private readonly List<string> order = [];
    private readonly Dictionary<string, (string Phase, Stopwatch Elapsed, bool Finished)> items = new(StringComparer.Ordinal);
    private LiveDisplayContext? live;

    private BootprepProgress(CliContext context) => this.context = context;

    public static async Task<T> RunAsync<T>(CliContext context, Func<BootprepProgress, Task<T>> work)
    {
        var progress = new BootprepProgress(context);
        if (context.Quiet || CliHost.Current.ErrorIsRedirected)
        {
            return await work(progress);
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(CliHost.Current.Error) });
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
            context.Log($"[{total.Elapsed:hh\\:mm\\:ss}] {item}: {phase}{(finished ? $" (after {Duration(elapsed)})" : "")}");
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
        // One line per item at any width: a long phase is cut short on screen (the log form keeps it whole).
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn(new TableColumn("Item").NoWrap()).AddColumn(new TableColumn("Phase").NoWrap()).AddColumn(new TableColumn("Time").RightAligned().NoWrap());
        table.Caption = new TableTitle($"cray bootprep run: {Duration(total.Elapsed)}");
        lock (gate)
        {
            foreach (var item in order)
            {
                var (phase, elapsed, finished) = items[item];
                table.AddRow(
                    new Markup(Markup.Escape(item)) { Overflow = Overflow.Ellipsis },
                    new Markup(finished ? Markup.Escape(phase) : $"[bold]{Markup.Escape(phase)}[/]") { Overflow = Overflow.Ellipsis },
                    new Markup(Duration(elapsed.Elapsed)));
            }
        }
        return table;
    }

    public static string Duration(TimeSpan elapsed)
        => elapsed.TotalHours >= 1 ? $"{(int)elapsed.TotalHours}h{elapsed.Minutes:00}m{elapsed.Seconds:00}s"
            : elapsed.TotalMinutes >= 1 ? $"{elapsed.Minutes}m{elapsed.Seconds:00}s"
            : $"{elapsed.Seconds}s";
}
