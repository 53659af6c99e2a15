using Cray.Platform.Logs;
using Cray.Platform.Storage;
using Microsoft.Extensions.Logging;

namespace Cray.Ims.Jobs;

/// <summary>One log file per job, kept until the job is deleted (the reference needs kubectl for this).</summary>
public sealed class JobLogs(ImsWorkerOptions options, TimeProvider clock, IRecordStore store, ILogger<JobLogs> logger)
    : LogDirectory(options.LogsDirectory, clock, store, "ims-job-logs", logger, "IMS job");
