using Cray.Platform.Work;

namespace Cray.Ims.Jobs;

/// <summary>The jobs this process's worker runs, so that this process's API can stop one it deletes.</summary>
public sealed class JobControl : RunningWork;
