using System.Text.Json.Nodes;
using Cray.Cli.Ims;

namespace Cray.Cli.Tests;

/// <summary><c>cray ims images history</c> (ours): the images it reads and how it prints the provenance chain.</summary>
public sealed class ImageHistoryCommandTests : RecordedCommandTests
{
    private const string Generations = """
        [
          {"id": "3333", "name": "compute_cfs_nightly", "created": "2026-12-03T06:55:01Z", "provenance": {
            "version": 1, "session": "nightly", "configuration": {"name": "compute", "limit": ""},
            "source_image": {"id": "1111", "name": "base", "rootfs_md5": "0123456789abcdef0123456789abcdef"},
            "target_groups": ["Compute"],
            "layers": [
              {"index": 0, "name": "tools", "clone_url": "https://git/site", "commit": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "playbook": "tools.yml", "key": "k0", "reused": true},
              {"index": 1, "name": "release", "clone_url": "https://git/site", "commit": "ffeeddccbbaa99887766554433221100ffeeddcc", "playbook": "release.yml", "key": "k1", "reused": false}
            ],
            "ansible": {"version": "ansible-playbook [core 2.14.3]", "limit": "", "passthrough": ""},
            "server_version": "1.4.0", "started": "2026-12-03T06:54:40Z", "finished": "2026-12-03T06:54:50Z"}},
          {"id": "1111", "name": "base", "created": "2026-12-01T10:00:00Z", "provenance": null}
        ]
        """;

    [Fact]
    public void ThePrettyListingShowsEachImageItsSessionAndWhetherEachLayerRanOrWasReused()
    {
        Assert.Equal("""
            Image 3333 (compute_cfs_nightly), created 2026-12-03T06:55:01Z
              made by CFS session nightly (configuration compute), 2026-12-03T06:54:40Z to 2026-12-03T06:54:50Z
              from image 1111 (base), rootfs md5 0123456789abcdef0123456789abcdef
              groups Compute
              layer 0 (tools): https://git/site a1b2c3d4e5f6 tools.yml, reused from the layer cache
              layer 1 (release): https://git/site ffeeddccbbaa release.yml, ran
              ansible-playbook [core 2.14.3], cray-server 1.4.0
            Image 1111 (base), created 2026-12-01T10:00:00Z
              not made by a CFS session

            """.ReplaceLineEndings("\n"), ImageHistoryCommand.Render(JsonNode.Parse(Generations)!.AsArray()).ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task AnImageWithoutProvenanceIsTheWholeHistory()
    {
        var result = await Cray.RunAsync("ims", "images", "history", "1111", "--format", "json");

        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/apis/ims/v3/images/1111", request.Path);
        var generation = Assert.Single(JsonNode.Parse(result.Output)!.AsArray())!;
        Assert.Null(generation["provenance"]);
    }
}
