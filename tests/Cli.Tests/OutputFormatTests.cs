using System.Text.Json.Nodes;
using Cray.Cli.Output;

namespace Cray.Cli.Tests;

public sealed class OutputFormatTests
{
    private static JsonObject Image(bool linked) => JsonNode.Parse($$"""
        {"arch":"x86_64","created":"2024-06-27T15:41:22.467177","id":"5d64c8b2-4f0e-4b2e-b334-51daba16b7fb",
         "link":{{(linked ? """{"etag":"abc","path":"s3://boot-images/5d64/manifest.json","type":"s3"}""" : "null")}},
         "metadata":{},"name":"compute"}
        """)!.AsObject();

    [Fact]
    public void JsonIsIndentedTwoWithServerKeyOrderAndAsciiEscapes()
    {
        var text = OutputFormats.Render(JsonNode.Parse("""{"name":"tést","link":null,"list":[],"map":{},"n":[1,true]}"""), OutputFormats.Json);
        Assert.Equal("""
            {
              "name": "t\u00e9st",
              "link": null,
              "list": [],
              "map": {},
              "n": [
                1,
                true
              ]
            }

            """.Replace("\r", ""), text);
    }

    [Fact]
    public void TomlObjectPrintsScalarsThenTablesAndAnEmptyTableHeader()
    {
        Assert.Equal("""
            arch = "x86_64"
            created = "2024-06-27T15:41:22.467177"
            id = "5d64c8b2-4f0e-4b2e-b334-51daba16b7fb"
            name = "compute"

            [link]
            etag = "abc"
            path = "s3://boot-images/5d64/manifest.json"
            type = "s3"

            [metadata]

            """, OutputFormats.Render(Image(linked: true), OutputFormats.Toml));
    }

    [Fact]
    public void TomlDropsNulls()
    {
        var text = OutputFormats.Render(Image(linked: false), OutputFormats.Toml);
        Assert.DoesNotContain("link", text);
        Assert.StartsWith("arch = \"x86_64\"\n", text);
    }

    [Fact]
    public void TomlListIsWrappedAsResultsArrayOfTables()
    {
        var list = new JsonArray(Image(linked: true), Image(linked: false));
        Assert.Equal("""
            [[results]]
            arch = "x86_64"
            created = "2024-06-27T15:41:22.467177"
            id = "5d64c8b2-4f0e-4b2e-b334-51daba16b7fb"
            name = "compute"

            [results.link]
            etag = "abc"
            path = "s3://boot-images/5d64/manifest.json"
            type = "s3"
            [[results]]
            arch = "x86_64"
            created = "2024-06-27T15:41:22.467177"
            id = "5d64c8b2-4f0e-4b2e-b334-51daba16b7fb"
            name = "compute"


            """, OutputFormats.Render(list, OutputFormats.Toml));
    }

    [Fact]
    public void TomlEmptyListAndScalarArrays()
    {
        Assert.Equal("results = []\n", OutputFormats.Render(new JsonArray(), OutputFormats.Toml));
        Assert.Equal("results = [ \"boot-images\", \"ims\",]\n", OutputFormats.Render(new JsonArray("boot-images", "ims"), OutputFormats.Toml));
        Assert.Equal("k = \"say \\\"hi\\\"\\n\"\n", OutputFormats.Render(new JsonObject { ["k"] = "say \"hi\"\n" }, OutputFormats.Toml));
    }

    [Fact]
    public void YamlIsBlockStyleQuotesDateLikeStringsAndShowsNullEmpty()
    {
        Assert.Equal("""
            arch: x86_64
            created: '2024-06-27T15:41:22.467177'
            id: 5d64c8b2-4f0e-4b2e-b334-51daba16b7fb
            link:
            metadata: {}
            name: compute

            """, OutputFormats.Render(Image(linked: false), OutputFormats.Yaml));
    }

    [Fact]
    public void YamlListsAreNotIndentedInsideMappingsAndTypedLookingStringsAreQuoted()
    {
        var text = OutputFormats.Render(JsonNode.Parse("""{"groups":[{"members":["x1","x2"],"name":"Compute"}],"flag":"true","n":"10","ok":true,"empty":""}"""), OutputFormats.Yaml);
        Assert.Equal("""
            groups:
            - members:
              - x1
              - x2
              name: Compute
            flag: 'true'
            n: '10'
            ok: true
            empty: ''

            """, text);
    }

    [Fact]
    public void EmptyResultIsAnEmptyLine()
        => Assert.Equal("\n", OutputFormats.Render(null, OutputFormats.Toml));
}
