namespace Cray.Cfs.Runner;

/// <summary>A session cannot go on; the message is the reason in its log.</summary>
public sealed class SessionFailedException(string message) : Exception(message);

/// <summary>The session's record is gone (deleted through an API server) while its runner still works on it.</summary>
public sealed class SessionDeletedException() : Exception("The session was deleted.");
