using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Cray.Cfs.Configurations;
using Cray.Cfs.Sources;
using Cray.Platform.Logs;
using Cray.Processes;

namespace Cray.Cfs.Runner;

/// <summary>
/// Checks out a layer's repository at its commit from a local bare mirror: the first session clones,
/// later ones fetch only when the commit is new, and the checkout itself is a local, shared clone.
/// Without a commit (the additional inventory options name only a URL) the mirror is always fetched
/// and its default branch checked out.
/// </summary>
public sealed class GitMirror(CfsRunnerOptions options, IProcessRunner runner)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> locks = new();

    /// <returns>The commit checked out.</returns>
    public async Task<string> CheckoutAsync(string cloneUrl, SourceCredentials? credentials, string? commit, string target, Action<string> log, CancellationToken cancellationToken)
    {
        var shownUrl = UrlCredentials.Redact(cloneUrl);
        var mirror = Path.Combine(options.GitCacheDirectory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cloneUrl)))[..24] + ".git");
        var gate = locks.GetOrAdd(mirror, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            var environment = GitCredentials.Environment(credentials);
            if (!Directory.Exists(mirror))
            {
                Directory.CreateDirectory(options.GitCacheDirectory);
                log($"Cloning {shownUrl} into the mirror cache.");
                await GitAsync(["clone", "--mirror", "--quiet", "--", cloneUrl, mirror], environment, $"Cannot clone {shownUrl}", cancellationToken);
            }
            else if (commit is null)
            {
                log($"Fetching {shownUrl} into the mirror cache (following its default branch).");
                await GitAsync(["-C", mirror, "fetch", "--quiet", "--prune", "origin"], environment, $"Cannot fetch {shownUrl}", cancellationToken);
            }
            else if (!await HasCommitAsync(mirror, commit, cancellationToken))
            {
                log($"Fetching {shownUrl} into the mirror cache (commit {commit[..Math.Min(12, commit.Length)]} is new).");
                await GitAsync(["-C", mirror, "fetch", "--quiet", "--prune", "origin"], environment, $"Cannot fetch {shownUrl}", cancellationToken);
            }
            else
            {
                log($"Using the mirror cache for {shownUrl}.");
            }
            commit ??= await DefaultBranchCommitAsync(mirror, cloneUrl, cancellationToken);
            if (!await HasCommitAsync(mirror, commit, cancellationToken))
            {
                throw new SessionFailedException($"Commit {commit} does not exist in {shownUrl}.");
            }
        }
        finally
        {
            gate.Release();
        }
        await GitAsync(["clone", "--quiet", "--shared", "--no-checkout", "--", mirror, target], new Dictionary<string, string?>(), "Cannot check out the layer", cancellationToken);
        await GitAsync(["-C", target, "checkout", "--quiet", "--detach", commit], new Dictionary<string, string?>(), $"Cannot check out {commit}", cancellationToken);
        return commit;
    }

    private async Task<string> DefaultBranchCommitAsync(string mirror, string cloneUrl, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(new ProcessRequest("git", ["-C", mirror, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"]) { Timeout = TimeSpan.FromSeconds(30) }, cancellationToken);
        return result.Succeeded ? result.Output.Trim() : throw new SessionFailedException($"{UrlCredentials.Redact(cloneUrl)} has no default branch to check out.");
    }

    private async Task<bool> HasCommitAsync(string mirror, string commit, CancellationToken cancellationToken)
        => (await runner.RunAsync(new ProcessRequest("git", ["-C", mirror, "cat-file", "-e", commit + "^{commit}"]) { Timeout = TimeSpan.FromSeconds(30) }, cancellationToken)).Succeeded;

    private async Task GitAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment, string failure, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(new ProcessRequest("git", arguments) { Timeout = TimeSpan.FromMinutes(10), Environment = environment }, cancellationToken);
        if (!result.Succeeded)
        {
            throw new SessionFailedException($"{failure}: {UrlCredentials.Redact(result.Output.Trim())}");
        }
    }
}
