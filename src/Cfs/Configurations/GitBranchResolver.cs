using Cray.Platform.Logs;
using Cray.Processes;

namespace Cray.Cfs.Configurations;

/// <summary>Turns a branch name into the commit at its head with <c>git ls-remote</c>: no clone, no working tree.</summary>
public interface IBranchResolver
{
    Task<string> ResolveAsync(string cloneUrl, string branch, Sources.SourceCredentials? credentials, CancellationToken cancellationToken);
}

public sealed class GitBranchResolver(IProcessRunner runner) : IBranchResolver
{
    public async Task<string> ResolveAsync(string cloneUrl, string branch, Sources.SourceCredentials? credentials, CancellationToken cancellationToken)
    {
        var request = new ProcessRequest("git", ["ls-remote", "--", cloneUrl, $"refs/heads/{branch}"])
        {
            Timeout = TimeSpan.FromSeconds(60),
            Environment = GitCredentials.Environment(credentials),
        };
        ProcessResult result;
        try
        {
            result = await runner.RunAsync(request, cancellationToken);
        }
        catch (ProcessFailedException exception)
        {
            throw new BranchResolutionException($"Failed interacting with the specified clone_url: {exception.Message}");
        }
        if (!result.Succeeded)
        {
            throw new BranchResolutionException($"Failed interacting with the specified clone_url: git ls-remote exited with {result.ExitCode}: {UrlCredentials.Redact(result.Output.Trim())}");
        }
        var line = result.Output.Split('\n').FirstOrDefault(candidate => candidate.EndsWith($"\trefs/heads/{branch}", StringComparison.Ordinal));
        var commit = line?.Split('\t')[0];
        if (commit is null || commit.Length != 40)
        {
            throw new BranchResolutionException($"Branch {branch} does not exist in {UrlCredentials.Redact(cloneUrl)}.");
        }
        return commit;
    }
}

public sealed class BranchResolutionException(string message) : Exception(message);
