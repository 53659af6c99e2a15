using Cray.Platform.Work;

namespace Cray.Cfs.Runner;

/// <summary>Lets the API stop a session this process is running (when it is deleted) and wait for its cleanup.</summary>
public sealed class SessionControl : RunningWork;
