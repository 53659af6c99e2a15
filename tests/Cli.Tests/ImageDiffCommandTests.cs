using System.Text.Json.Nodes;
using Cray.Cli.Ims;

namespace Cray.Cli.Tests;

/// <summary><c>cray ims images diff</c> (ours): the route it calls and how it prints the answer.</summary>
public sealed class ImageDiffCommandTests : RecordedCommandTests
{
    private const string Difference = """
        {
          "from": {"id": "1111", "name": "before"},
          "to": {"id": "2222", "name": "after"},
          "files": {
            "added": [
              {"path": "/added-directory", "type": "directory", "mode": "0755", "uid": 0, "gid": 0},
              {"path": "/added-directory/file", "type": "file", "mode": "0644", "uid": 0, "gid": 0, "size": 4},
              {"path": "/bin/rbash", "type": "symlink", "mode": "0777", "uid": 0, "gid": 0, "link_target": "bash"}
            ],
            "removed": [
              {"path": "/dev/old", "type": "character_device", "mode": "0600", "uid": 0, "gid": 0, "device": "5:1"},
              {"path": "/removed.txt", "type": "file", "mode": "0644", "uid": 0, "gid": 0, "size": 5}
            ],
            "changed": [
              {"path": "/bin/sh", "changes": {"link_target": ["dash", "bash"]}},
              {"path": "/etc/hostname", "changes": {"sha256": ["aa", "bb"]}},
              {"path": "/etc/motd", "changes": {"mode": ["0644", "0600"], "size": [6, 13], "xattrs": ["user.comment"]}},
              {"path": "/kind", "changes": {"type": ["file", "directory"], "uid": [0, 1000]}}
            ]
          },
          "packages": {
            "manager": "dpkg",
            "added": [{"name": "added-package", "version": "0.9-1", "architecture": "amd64"}],
            "removed": [{"name": "libc6", "version": "2.36-9", "architecture": "i386"}],
            "upgraded": [{"name": "bash", "architecture": "amd64", "from": "5.2.15-2", "to": "5.2.15-3"}],
            "downgraded": [{"name": "epoch-package", "architecture": "amd64", "from": "1:2.0-1", "to": "2.5-1"}]
          },
          "notes": []
        }
        """;

    [Fact]
    public void ThePrettyListingIsADiffsLinesInPathOrderThenPackagesThenTheCounts()
    {
        Assert.Equal("""
            From image 1111 (before) to image 2222 (after)

            Files:
            + /added-directory/
            + /added-directory/file
            + /bin/rbash -> bash
            ~ /bin/sh (link dash→bash)
            - /dev/old (character device 5:1)
            ~ /etc/hostname (content)
            ~ /etc/motd (mode 0644→0600, size 6→13, xattrs user.comment)
            ~ /kind (type file→directory, uid 0→1000)
            - /removed.txt

            Packages (dpkg):
            + added-package 0.9-1 (amd64)
            ↑ bash 5.2.15-2 → 5.2.15-3 (amd64)
            ↓ epoch-package 1:2.0-1 → 2.5-1 (amd64)
            - libc6 2.36-9 (i386)

            Files: 3 added, 2 removed, 4 changed. Packages (dpkg): 1 added, 1 removed, 1 upgraded, 1 downgraded.

            """.ReplaceLineEndings("\n"), ImageDiffCommand.Render(JsonNode.Parse(Difference)).ReplaceLineEndings("\n"));
    }

    [Fact]
    public void WithoutPackagesTheListingSaysWhyAndCountsFilesOnly()
    {
        var difference = JsonNode.Parse(Difference)!.AsObject();
        difference["packages"] = null;
        difference["notes"] = new JsonArray("Packages are not compared: neither image has a package database.");
        difference["files"] = new JsonObject { ["added"] = new JsonArray(), ["removed"] = new JsonArray(), ["changed"] = new JsonArray() };

        Assert.Equal("""
            From image 1111 (before) to image 2222 (after)

            Note: Packages are not compared: neither image has a package database.

            Files: 0 added, 0 removed, 0 changed.

            """.ReplaceLineEndings("\n"), ImageDiffCommand.Render(difference).ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task JsonPrintsTheAnswerOfTheDiffRoute()
    {
        var result = await Cray.RunAsync("ims", "images", "diff", "1111", "2222", "--format", "json");

        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/apis/ims/v3/images/1111/diff/2222", request.Path);
        Assert.Equal("{}\n", result.Output);
    }

    [Fact]
    public async Task AFormatOtherThanTheListedOnesIsAUsageError()
    {
        var result = await Cray.RunAsync("ims", "images", "diff", "1111", "2222", "--format", "csv");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Invalid value for '--format': 'csv' is not one of 'pretty', 'json', 'toml', 'yaml'.", result.Error);
        Assert.Empty(Server.Requests);
    }
}
