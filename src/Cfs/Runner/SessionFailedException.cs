namespace Cray.Cfs.Runner;

/// <summary>A session cannot go on; the message is the reason in its log.</summary>
public sealed class SessionFailedException(string message) : Exception(message);
