using System.Text.Json.Nodes;
using Cray.Cli.Bootprep;

namespace Cray.Cli.Tests;

/// <summary>The report's sections and shapes: tooling parses the JSON (images[].final_image_id), people read the tables.</summary>
public sealed class BootprepReportTests
{
    private static BootprepReport Sample()
    {
        var report = new BootprepReport();
        report.Add(report.Configurations, new JsonObject { ["name"] = "compute", ["action"] = "created" });
        report.Add(report.Images, BootprepReport.ImageRow("compute-1", "pre-id", "final-id", "compute", ["Compute", "Application"]));
        var failed = BootprepReport.ImageRow("uan-1", null, null, "compute", ["Application"]);
        failed["error"] = "CFS session bootprep-0123456789ab failed; see: cray cfs sessions logs bootprep-0123456789ab";
        report.Add(report.Images, failed);
        return report;
    }

    [Fact]
    public void TheJsonHasEverySectionAndTheImageRowsTheReferenceTooling()
    {
        var report = JsonNode.Parse(Sample().Render("json"))!;
        Assert.Equal(["configurations", "skipped_configurations", "images", "skipped_images", "session_templates", "skipped_session_templates"],
            report.AsObject().Select(pair => pair.Key));
        var image = report["images"]![0]!;
        Assert.Equal(["name", "preconfigured_image_id", "final_image_id", "configuration", "configuration_group_names"], image.AsObject().Select(pair => pair.Key));
        Assert.Equal("final-id", (string?)image["final_image_id"]);
        Assert.Null(report["images"]![1]!["final_image_id"]);
    }

    [Fact]
    public void ThePrettyFormIsATablePerSectionWithRows()
    {
        var text = Sample().Render("pretty");
        Assert.StartsWith("CFS configurations:\n", text);
        Assert.Contains("IMS images:\n", text);
        Assert.DoesNotContain("skipped", text);
        Assert.Contains("| compute-1 | pre-id                 | final-id       | compute       | Compute, Application      |", text);
        Assert.Contains("see: cray cfs sessions logs bootprep-0123456789ab", text);
        Assert.Equal("Nothing was created or skipped.\n", new BootprepReport().Render("pretty"));
    }

    [Fact]
    public void TheYamlFormHasTheSameContent()
        => Assert.Contains("final_image_id: final-id", Sample().Render("yaml"));
}
