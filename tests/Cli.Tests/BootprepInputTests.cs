using System.Text.Json.Nodes;

namespace Cray.Cli.Tests;

/// <summary><c>cray bootprep validate|list-vars|view-schema</c>: every class of bad file is named with its place, before any server is asked.</summary>
public sealed class BootprepInputTests : IDisposable
{
    private readonly InProcessCray cray = new();

    private readonly string directory = Directory.CreateTempSubdirectory("cray-bootprep-test-").FullName;

    public void Dispose()
    {
        cray.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private async Task<CrayResult> ValidateAsync(string text, params string[] extra)
    {
        var file = Path.Combine(directory, $"input-{Guid.NewGuid():n}.yaml");
        await File.WriteAllTextAsync(file, text);
        return await cray.RunAsync(["bootprep", "validate", file, .. extra]);
    }

    private const string Layer = "  - playbook: site.yml\n    git: {url: /srv/site, branch: main}\n";

    [Theory]
    [InlineData("schema_version: 1.0.9\nbogus: 1\n", "bogus (line 2): is not a key this place allows")]
    [InlineData("configurations:\n- name: c\n  layers:\n  - playbook: site.yml\n    git: {url: /srv/site, branch: main, tag: v1}\n", "configurations[0].layers[0].git.tag (line 5): is not a key this place allows")]
    [InlineData("configurations:\n- name: c\n  layers:\n  - playbook: site.yml\n", "configurations[0].layers[0] (line 4): needs exactly one of git, product or source")]
    [InlineData("configurations:\n- name: c\n  layers:\n  - playbook: site.yml\n    git: {url: /srv/site, branch: main, commit: 0123456789abcdef0123456789abcdef01234567}\n", "configurations[0].layers[0].git (line 5): needs exactly one of branch or commit")]
    [InlineData("configurations:\n- name: c\n  layers:\n  - playbook: site.yml\n    source: site\n", "configurations[0].layers[0] (line 4): needs exactly one of branch or commit")]
    [InlineData("configurations:\n- name: c\n  layers: []\n", "configurations[0].layers (line 3): must list at least one item")]
    [InlineData("configurations:\n- layers:\n" + Layer, "configurations[0] (line 2): needs name")]
    [InlineData("configurations:\n- name: c\n  if_exists: replace\n  layers:\n" + Layer, "configurations[0].if_exists (line 3): must be one of skip, overwrite, abort")]
    [InlineData("configurations:\n- name: c\n  layers:\n  - git: {url: /srv/site, branch: main}\n", "configurations[0].layers[0] (line 4): needs playbook")]
    [InlineData("configurations:\n- name: c\n  layers:\n  - playbook: site.yml\n    product: {name: cos}\n", "configurations[0].layers[0].product (line 5): product layers need the reference's product catalog")]
    [InlineData("configurations:\n- name: c\n  layers:\n  - playbook: site.yml\n    git: {url: /srv/site, commit: abc}\n", "configurations[0].layers[0].git.commit (line 5): 'abc' is not a full commit id")]
    [InlineData("configurations:\n- name: c\n  layers:\n" + Layer + "- name: c\n  layers:\n" + Layer, "configurations[1].name (line 6): the configuration name 'c' is used 2 times")]
    [InlineData("configurations:\n- name: 'c {{ x'\n  layers:\n" + Layer, "configurations[0].name (line 2): cannot read the template")]
    [InlineData("configurations:\n- name: '{{ product.version }}'\n  layers:\n" + Layer, "configurations[0].name (line 2): cannot render '{{ product.version }}': the variable product.version is not defined")]
    [InlineData("images:\n- name: i\n  base: {ims: {name: b, type: image}}\n  configuration: c\n", "images[0] (line 2): needs configuration_group_names with configuration")]
    [InlineData("images:\n- name: i\n  configuration: c\n  configuration_group_names: [Compute]\n", "images[0] (line 2): needs exactly one of base or ims")]
    [InlineData("images:\n- name: i\n  base: {ims: {type: image}}\n  configuration: c\n  configuration_group_names: [Compute]\n", "images[0].base.ims (line 3): needs exactly one of name or id")]
    [InlineData("images:\n- name: i\n  base: {ims: {name: b, type: image}}\n", "images[0] (line 2): takes an existing image and names no configuration")]
    [InlineData("images:\n- name: i\n  base: {product: {name: cos, type: image}}\n", "images[0].base.product (line 3): product bases need the reference's product catalog")]
    [InlineData("images:\n- name: i\n  base: {image_ref: x, ims: {name: b, type: image}}\n", "images[0].base (line 3): needs exactly one of ims, product or image_ref")]
    [InlineData("session_templates:\n- name: t\n  image: {image_ref: x}\n  configuration: c\n  bos_parameters: {boot_sets: {compute: {arch: Z80}}}\n", "session_templates[0].bos_parameters.boot_sets.compute.arch (line 5): must be one of X86, ARM, Other, Unknown")]
    [InlineData("schema_version: 2.0.0\n", "schema_version (line 1): version 2.0.0 is newer than the schema this cray reads (1.0.9)")]
    [InlineData("schema_version: 1.1.0\n", "schema_version (line 1): version 1.1.0 is newer")]
    [InlineData("schema_version: 0.9.0\n", "schema_version (line 1): version 0.9.0 is of an older major version")]
    [InlineData("schema_version: one\n", "schema_version (line 1): must be a version such as 1.0.9")]
    [InlineData("images: {name: i}\n", "images (line 1): is a mapping; it must be a list")]
    [InlineData("- name: i\n", "the file: must be a mapping")]
    [InlineData("images:\n- name: i\n  name: j\n", "not valid YAML at line 3, column 3: Duplicate key")]
    [InlineData("images: [\n", "not valid YAML at line")]
    [InlineData("images: &x [*x]\n", "line 1: an alias refers to a value that contains it")]
    [InlineData("images: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n", "nests brackets more than 32 deep")]
    [InlineData("configurations:\n- name: '{{ 1 | divided_by: 0 }}'\n  layers:\n" + Layer, "configurations[0].name (line 2): cannot render '{{ 1 | divided_by: 0 }}': divided by 0")]
    [InlineData("configurations:\n- name: \"{% include 'x' %}\"\n  layers:\n" + Layer, "configurations[0].name (line 2): cannot render")]
    [InlineData("schema_version: '1.0.99999999999'\n", "schema_version (line 1): '1.0.99999999999' is not a version this cray can compare")]
    [InlineData("session_templates:\n- name: t\n  image: {ims: {name: x, typo: 1}}\n  configuration: c\n  bos_parameters: {boot_sets: {compute: {}}}\n", "session_templates[0].image.ims.typo (line 3): is not a key this place allows")]
    [InlineData("images:\n- null\n", "images[0] (line 2): is empty; it must be a mapping\n")]
    [InlineData("images:\n" + "- name: a\n  ref_name: a\n  base: {image_ref: b}\n  configuration: c\n  configuration_group_names: [G]\n" + "- name: b\n  ref_name: b\n  base: {image_ref: a}\n  configuration: c\n  configuration_group_names: [G]\n", "image_ref makes a cycle: a -> b -> a")]
    [InlineData("images:\n- name: '{{ base.name }}-{{ nope }}'\n  base: {ims: {name: b, type: image}}\n  configuration: c\n  configuration_group_names: [G]\n", "images[0].name (line 2): cannot render '{{ base.name }}-{{ nope }}': the variable nope is not defined")]
    [InlineData("images:\n- name: 'made-{{ base.name }}'\n  base: {ims: {name: b, type: image}}\n  configuration: c\n  configuration_group_names: [G]\n- name: child\n  base: {ims: {name: made-b, type: image}}\n  configuration: c\n  configuration_group_names: [G]\n", "images[1].base (line 7): the base image 'made-b' is made by images[0] of this file")]
    public async Task EveryClassOfBadFileIsNamedWithItsPlace(string text, string expected)
    {
        var result = await ValidateAsync(text);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task MergeKeysAreReadAsThePythonLoaderReadsThem()
    {
        var result = await ValidateAsync("configurations:\n- name: c\n  layers:\n  - &first\n    playbook: site.yml\n    git: {url: /srv/site, branch: main}\n  - <<: *first\n    playbook: other.yml\n");
        Assert.True(result.ExitCode == 0, result.Error);
    }

    [Fact]
    public async Task AnAliasExpandingPastTheLimitIsRefusedBeforeItCostsMemory()
    {
        var text = new System.Text.StringBuilder("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (var level = 1; level < 10; level++)
        {
            text.Append($"b{level}: &b{level} [{string.Join(", ", Enumerable.Repeat(level == 1 ? "*a" : $"*b{level - 1}", 9))}]\n");
        }
        var result = await ValidateAsync(text.ToString());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("expands to more than 200000 values (aliases included)", result.Error);
    }

    [Fact]
    public async Task EveryProblemIsReportedAtOnce()
    {
        var result = await ValidateAsync("bogus: 1\nconfigurations:\n- name: c\n  layers:\n  - playbook: site.yml\nimages:\n- name: i\n");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("3 problems", result.Error);
        Assert.Contains("bogus (line 1)", result.Error);
        Assert.Contains("configurations[0].layers[0] (line 5)", result.Error);
        Assert.Contains("images[0] (line 7)", result.Error);
    }

    [Fact]
    public async Task AValidFileIsCountedAndAnOldFormIsAWarning()
    {
        var result = await ValidateAsync("configurations:\n- name: c\n  layers:\n" + Layer + "images:\n- name: i\n  ims: {is_recipe: yes, name: r}\n");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.EndsWith("is valid: 1 configuration, 1 image, 0 session templates.\n", result.Output);
        Assert.Contains("has no schema_version", result.Error);
        Assert.Contains("images[0].ims (line 8): ims is deprecated", result.Error);
    }

    [Fact]
    public async Task VariablesOnTheCommandLineWinOverTheFileAndTopLevelHyphensBecomeUnderscores()
    {
        var variables = Path.Combine(directory, "vars.yaml");
        await File.WriteAllTextAsync(variables, "site-config:\n  version: 1.0\n  branch: from-file\nrelease: 3\n");
        var listed = await cray.RunAsync("bootprep", "list-vars", "--vars-file", variables, "--vars", "site_config.branch=from-flag", "--format", "json");
        Assert.True(listed.ExitCode == 0, listed.Error);
        var rows = JsonNode.Parse(listed.Output)!.AsArray().Select(row => ((string?)row!["name"], (string?)row["value"], (string?)row["source"])).ToList();
        Assert.Equal([("release", "3", variables), ("site_config.branch", "from-flag", "--vars"), ("site_config.version", "1.0", variables)], rows);

        var result = await ValidateAsync("configurations:\n- name: 'c-{{ site_config.branch }}-{{ release }}'\n  layers:\n" + Layer,
            "--vars-file", variables, "--vars", "site_config.branch=from-flag");
        Assert.True(result.ExitCode == 0, result.Error);
    }

    [Fact]
    public async Task ABadVariableAssignmentIsAUsageError()
    {
        var result = await cray.RunAsync("bootprep", "list-vars", "--vars", "novalue");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Invalid value for '--vars': 'novalue' is not NAME=VALUE", result.Error);
    }

    [Fact]
    public async Task TheSchemaIsAJsonSchemaThatAllowsNoUnknownKeys()
    {
        var result = await cray.RunAsync("bootprep", "view-schema");
        Assert.Equal(0, result.ExitCode);
        var schema = JsonNode.Parse(result.Output)!;
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", (string?)schema["$schema"]);
        Assert.False((bool)schema["additionalProperties"]!);
        Assert.All(new[] { "configuration", "layer", "gitReference", "image", "imageBase", "sessionTemplate", "bootSet" },
            definition => Assert.False((bool)schema["$defs"]![definition]!["additionalProperties"]!));
    }
}
