using System.Globalization;
using System.Text.Json.Serialization;

namespace Cray.Platform.Work;

/// <summary>
/// A process as the kernel knows it, exactly enough to tell whether it still runs: the machine's
/// boot, its pid and its start time (a reused pid has a later start).
/// </summary>
public sealed record ProcessIdentity(
    [property: JsonPropertyName("boot_id")] string BootId,
    [property: JsonPropertyName("pid")] int ProcessId,
    [property: JsonPropertyName("start_ticks")] long StartTicks)
{
    public static ProcessIdentity Current() => Of(Environment.ProcessId) ?? throw new InvalidOperationException("/proc does not describe this process");

    /// <summary>A process of this machine, or null when it does not run.</summary>
    public static ProcessIdentity? Of(int processId) => StartTicksOf(processId) is { } ticks ? new(ReadBootId(), processId, ticks) : null;

    /// <summary>Whether this process runs on this machine's current boot; unknowable (false) for another machine's.</summary>
    public bool IsRunningHere() => BootId == ReadBootId() && StartTicksOf(ProcessId) == StartTicks;

    public bool IsOnThisMachine() => BootId == ReadBootId();

    private static string ReadBootId() => File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();

    /// <summary>
    /// Field 22 of /proc/PID/stat, after the command name (which may hold spaces and parentheses);
    /// null for a process that has ended, a zombie its parent has not reaped included.
    /// </summary>
    private static long? StartTicksOf(int processId)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{processId}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] is "Z" or "X")
            {
                return null;
            }
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
