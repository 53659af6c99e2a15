using Cray.Cli.Bootprep;

namespace Cray.Cli.Tests;

/// <summary>The checks that need the server's records, and what happens to items that exist, without a server.</summary>
public sealed class BootprepPlannerTests
{
    private static readonly ServerInventory Inventory = new(
        new HashSet<string> { "existing-config" },
        [new ImsRecord("image-1", "base"), new ImsRecord("image-2", "twin"), new ImsRecord("image-3", "twin"), new ImsRecord("image-4", "made-before")],
        [new ImsRecord("recipe-1", "debian")]);

    private static BootprepPlan Plan(string text, ExistingPolicy? policy = null, BootprepSections sections = BootprepSections.All,
        Func<string, ExistingAction>? ask = null, ServerInventory? inventory = null)
    {
        var document = YamlDocument.Parse("input.yaml", text);
        var renderer = new TemplateRenderer(new Dictionary<string, object?> { ["release"] = "r1" });
        var input = BootprepInputReader.Read(document, renderer);
        return new BootprepPlanner(document, input, inventory ?? Inventory, sections, policy ?? new ExistingPolicy(false, false, false, false), renderer,
            ask ?? (_ => ExistingAction.Abort)).Plan();
    }

    private static string Problems(string text, ExistingPolicy? policy = null, BootprepSections sections = BootprepSections.All)
        => Assert.Throws<BootprepInputException>(() => Plan(text, policy, sections)).Message;

    private static string Image(string name, string baseYaml, string? refName = null, string configuration = "existing-config", string? ifExists = null)
        => $"- name: '{name}'\n{(refName is null ? "" : $"  ref_name: {refName}\n")}  base: {baseYaml}\n  configuration: {configuration}\n" +
           $"  configuration_group_names: [Compute]\n{(ifExists is null ? "" : $"  if_exists: {ifExists}\n")}";

    [Fact]
    public void ImagesAreOrderedAfterTheirBasesAndNamesRenderWithTheBasesName()
    {
        var plan = Plan("images:\n"
            + Image("app-{{ base.name }}", "{image_ref: compute}")
            + Image("compute-{{ base.name }}-{{ release }}", "{ims: {name: debian, type: recipe}}", refName: "compute"));
        Assert.Equal(["compute-debian-r1", "app-compute-debian-r1"], plan.Images.Select(step => step.Name));
        Assert.Equal("recipe-1", plan.Images[0].BaseId);
        Assert.Equal("compute-debian-r1-pre-configuration", plan.Images[0].RecipeImageName);
        Assert.Equal(1, plan.Images[1].Dependency);
    }

    [Theory]
    [InlineData("{image_ref: nowhere}", "images[0].base.image_ref (line 3): no image in the file has ref_name 'nowhere'")]
    [InlineData("{ims: {name: missing, type: image}}", "images[0].base (line 3): IMS has no image named 'missing'")]
    [InlineData("{ims: {id: no-such-id, type: recipe}}", "images[0].base (line 3): IMS has no recipe with id no-such-id")]
    [InlineData("{ims: {name: twin, type: image}}", "IMS has 2 images named 'twin' (image-2, image-3); give base.ims.id instead of name")]
    public void BasesMustResolve(string baseYaml, string expected)
        => Assert.Contains(expected, Problems("images:\n" + Image("i", baseYaml)));

    [Fact]
    public void ImageReferencesMustNotMakeACycle()
        => Assert.Contains("image_ref makes a cycle: a -> b -> a",
            Problems("images:\n" + Image("x", "{image_ref: b}", refName: "a") + Image("y", "{image_ref: a}", refName: "b")));

    [Fact]
    public void RefNamesAndRenderedNamesMustBeUnique()
    {
        var problems = Problems("images:\n" + Image("same-{{ release }}", "{ims: {name: base, type: image}}", refName: "r")
            + Image("same-r1", "{ims: {name: base, type: image}}", refName: "r"));
        Assert.Contains("images[1].ref_name (line 8): the ref_name 'r' is also used by images[0]", problems);
        Assert.Contains("the image name 'same-r1' is used by 2 images of the file", problems);
    }

    [Fact]
    public void AnImageMustNotTakeByNameABaseAnotherImageOfTheFileMakes()
        => Assert.Contains("the base image 'made-here' is made by images[0] of this file: give that image a ref_name and use base.image_ref here",
            Problems("images:\n" + Image("made-here", "{ims: {name: base, type: image}}") + Image("child", "{ims: {name: made-here, type: image}}")));

    [Fact]
    public void AConfigurationMustExistOrBeMadeByTheFileWithinTheLimit()
    {
        const string text = "configurations:\n- name: new-config\n  layers:\n  - playbook: site.yml\n    git: {url: /srv/site, branch: main}\nimages:\n";
        Assert.Contains("images[0].configuration (line 9): CFS has no configuration named 'absent'",
            Problems(text + Image("i", "{ims: {name: base, type: image}}", configuration: "absent")));
        Assert.Single(Plan(text + Image("i", "{ims: {name: base, type: image}}", configuration: "new-config")).Images);
        Assert.Contains("the configuration 'new-config' is only in the file, and --limit leaves configurations out",
            Problems(text + Image("i", "{ims: {name: base, type: image}}", configuration: "new-config"), sections: BootprepSections.Images));
    }

    [Fact]
    public void ExistingItemsFollowTheFlagsThenIfExistsThenTheQuestion()
    {
        const string configuration = "configurations:\n- name: existing-config\n  layers:\n  - playbook: site.yml\n    git: {url: /srv/site, branch: main}\n";
        Assert.Contains("the configuration existing-config exists and nothing says what to do: set if_exists (skip or overwrite) or pass --overwrite-configs or --skip-existing-configs",
            Problems(configuration));
        Assert.Equal(ExistingAction.Overwrite, Plan(configuration, new ExistingPolicy(true, false, false, false)).Configurations[0].Action);
        Assert.Equal(ExistingAction.Skip, Plan(configuration + "  if_exists: skip\n").Configurations[0].Action);
        Assert.Equal(ExistingAction.Overwrite, Plan(configuration + "  if_exists: skip\n", new ExistingPolicy(true, false, false, false)).Configurations[0].Action);
        Assert.Equal(ExistingAction.Skip, Plan(configuration, ask: question => question == "The configuration existing-config exists" ? ExistingAction.Skip : ExistingAction.Abort).Configurations[0].Action);
        Assert.Contains("if_exists is abort", Problems(configuration + "  if_exists: abort\n", new ExistingPolicy(false, false, false, false)));

        var images = "images:\n" + Image("made-before", "{ims: {name: base, type: image}}", ifExists: "overwrite")
            + Image("child", "{image_ref: before}");
        var plan = Plan(images.Replace("- name: 'made-before'\n", "- name: 'made-before'\n  ref_name: before\n", StringComparison.Ordinal));
        Assert.Equal(["image-4"], plan.Images[0].ReplacedIds);
        var skipped = Plan(images.Replace("- name: 'made-before'\n", "- name: 'made-before'\n  ref_name: before\n", StringComparison.Ordinal), new ExistingPolicy(false, false, false, true));
        Assert.Equal("image-4", skipped.Images[0].ExistingId);
        Assert.Single(skipped.ImagesToMake);
        Assert.Contains("2 IMS images are named twin (image-2, image-3); skip cannot tell which to use",
            Problems("images:\n" + Image("twin", "{ims: {name: base, type: image}}", ifExists: "skip")));
    }

    [Fact]
    public void SessionTemplatesMustNameAnImageAndAConfigurationThatExist()
    {
        var problems = Problems("session_templates:\n- name: t\n  image: {image_ref: nowhere}\n  configuration: absent\n  bos_parameters: {boot_sets: {compute: {}}}\n");
        Assert.Contains("session_templates[0].image.image_ref (line 3): no image in the file has ref_name 'nowhere'", problems);
        Assert.Contains("session_templates[0].configuration (line 4): CFS has no configuration named 'absent'", problems);
        Assert.Single(Plan("session_templates:\n- name: t\n  image: {ims: {name: base}}\n  configuration: existing-config\n  bos_parameters: {boot_sets: {compute: {}}}\n").SessionTemplates);
    }

    [Fact]
    public void TheDryRunTextSaysWhatHappensInOrder()
    {
        var plan = Plan("images:\n" + Image("app", "{image_ref: compute}")
            + Image("compute", "{ims: {name: debian, type: recipe}}", refName: "compute")
            + Image("made-before", "{ims: {name: base, type: image}}", ifExists: "overwrite"));
        var text = BootprepPlanText.Describe(plan);
        Assert.Contains("IMS images (3, in the order they can start; of the 3 that would be made, 2 have no dependencies):", text);
        Assert.Contains("  create     compute: IMS create job from recipe debian (recipe-1) making compute-pre-configuration; CFS session with existing-config (groups Compute)\n" +
            "  create     app: after compute is made, from it; CFS session with existing-config (groups Compute)\n", text);
        Assert.Contains("  overwrite  made-before: from IMS image base (image-1); CFS session with existing-config (groups Compute); then delete the image it replaces (image-4)", text);
    }
}
