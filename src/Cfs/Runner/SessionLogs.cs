using Cray.Platform.Logs;
using Cray.Platform.Storage;
using Microsoft.Extensions.Logging;

namespace Cray.Cfs.Runner;

/// <summary>One log file per session: every step and all Ansible output (the reference needs kubectl for this).</summary>
public sealed class SessionLogs(CfsRunnerOptions options, TimeProvider clock, IRecordStore store, ILogger<SessionLogs> logger)
    : LogDirectory(options.LogsDirectory, clock, store, "cfs-session-logs", logger, "CFS session");
