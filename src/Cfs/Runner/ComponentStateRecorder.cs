using Cray.Cfs.Components;
using Cray.Cfs.Model;
using Cray.Platform.Problems;

namespace Cray.Cfs.Runner;

/// <summary>A layer as a session checked it out: what component state records about it.</summary>
public sealed record LayerCheckout(string Index, string Name, string CloneUrl, string Playbook, string Commit, string PlaybookPath, string Directory);

/// <summary>
/// What the reference's cfs_aggregator callback does after each playbook: for every host the
/// playbook processed, append the layer to the component's state (suffix <c>_failed</c> when the
/// host failed or was unreachable, <c>_incomplete</c> when the host was fine but a play was aborted)
/// and keep error_count (0 when applied, one more on failure). Hosts CFS has no component for are skipped.
/// </summary>
public sealed class ComponentStateRecorder(ComponentService components)
{
    public async Task RecordAsync(string sessionName, LayerCheckout layer, PlayRecap recap, Action<string> log, CancellationToken cancellationToken)
    {
        if (!recap.Seen)
        {
            log($"Component state: layer {layer.Index} printed no PLAY RECAP (a stdout_callback other than the default?), so no state is recorded for it.");
            return;
        }
        var skipped = new List<string>();
        foreach (var host in recap.Hosts)
        {
            var suffix = host.Broken ? "_failed" : recap.PlayAborted ? "_incomplete" : "";
            try
            {
                await components.PatchAsync(host.Host, current => new ComponentChange(
                    StateAppend: new ComponentStateLayer(layer.CloneUrl, layer.Commit + suffix, null, layer.Playbook, sessionName, null),
                    ErrorCount: host.Broken ? current.ErrorCount + 1 : recap.PlayAborted ? null : 0), cancellationToken);
            }
            catch (ProblemException exception) when (exception.Status == 404)
            {
                skipped.Add(host.Host);
            }
        }
        var recorded = recap.Hosts.Count - skipped.Count;
        log($"Component state: layer {layer.Index} recorded for {recorded} component{(recorded == 1 ? "" : "s")}"
            + (skipped.Count == 0 ? "." : $"; not components of CFS, so not recorded: {string.Join(", ", skipped)}."));
    }
}
