using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>The layer repositories the tests make: a directory's files, committed on main.</summary>
public static class GitRepositories
{
    public static async Task CommitAllAsync(string repository)
    {
        foreach (var arguments in new[] { new[] { "init", "-q", "-b", "main" }, ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "layer"] })
        {
            await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("git", ["-C", repository, .. arguments]));
        }
    }
}
