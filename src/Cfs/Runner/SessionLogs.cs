using Cray.Platform.Logs;

namespace Cray.Cfs.Runner;

/// <summary>One log file per session: every step and all Ansible output (the reference needs kubectl for this).</summary>
public sealed class SessionLogs(CfsRunnerOptions options, TimeProvider clock) : LogDirectory(options.LogsDirectory, clock);
