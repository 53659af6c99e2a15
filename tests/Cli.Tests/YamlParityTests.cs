using System.Diagnostics;
using System.Text.Json.Nodes;
using Cray.Cli.Output;

namespace Cray.Cli.Tests;

/// <summary>`--format yaml` against the real PyYAML (python3-yaml comes with ansible-core): the same text, folding included.</summary>
public sealed class YamlParityTests
{
    private static string PyYaml(string json)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, json);
            // Debian's python3, where python3-yaml is installed as ansible-core's dependency (test.sh installs it).
            var start = new ProcessStartInfo("/usr/bin/python3")
            {
                ArgumentList = { "-c", "import json, sys, yaml; sys.stdout.write(yaml.safe_dump(json.load(open(sys.argv[1])), default_flow_style=False))", file },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, error);
            return output;
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("""{"description":"Configures the compute image for the site with the five example tasks, the message of the day and a site directory"}""")]
    [InlineData("""{"nested":{"note":"a value nested one level deeper that is long enough to need folding at the eighty column mark, twice over if it goes on"}}""")]
    [InlineData("""{"items":["an item in a list that is long enough to need folding at the eighty column mark of the output"]}""")]
    [InlineData("""{"quoted":"10: a string that must be quoted because of its colon and space, and is long enough to fold over"}""")]
    [InlineData("""{"url":"https://example.com/a/very/long/path/without/any/spaces/in/it/that/cannot/be/folded/anywhere/at/all"}""")]
    [InlineData("""{"trailing":"a long value that ends with a space so that it has to be quoted by the emitter anyway  "}""")]
    public void LongStringsFoldAsPyYamlFoldsThem(string json)
        => Assert.Equal(PyYaml(json), OutputFormats.Render(JsonNode.Parse(json), OutputFormats.Yaml));
}
