using Cray.Ims.Jobs;
using Cray.Ims.Model;

namespace Cray.Ims.Tests;

/// <summary>The create job's recipe handling that needs no kiwi: finding the description, templates, repositories.</summary>
public sealed class RecipeBuildTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("recipe-build-test-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private const string Description = """
        <?xml version="1.0" encoding="utf-8"?>
        <image schemaversion="7.4" name="{{ image_name }}">
            <repository type="apt-deb" alias="main" distribution="{{distribution}}" components="main">
                <source path="http://deb.example.org/debian"/>
            </repository>
            <repository type="rpm-md">
                <source path="dir:///srv/repo"/>
            </repository>
            <packages type="image"><package name="{% if x %}jinja-left-alone{% endif %}"/></packages>
        </image>
        """;

    [Fact]
    public void TheDescriptionIsAtTheTopOrInTheOnlyDirectory()
    {
        Assert.Null(RecipeBuild.FindDescription(directory));
        var inner = Directory.CreateDirectory(Path.Combine(directory, "compute")).FullName;
        File.WriteAllText(Path.Combine(inner, "config.xml"), Description);
        Assert.Equal(inner, RecipeBuild.FindDescription(directory));
        File.WriteAllText(Path.Combine(directory, "config.kiwi"), Description);
        Assert.Equal(directory, RecipeBuild.FindDescription(directory));
    }

    [Fact]
    public void TemplatesTakeTheDictionarysValuesAndLeaveEverythingElse()
    {
        File.WriteAllText(Path.Combine(directory, "config.xml"), Description);
        File.WriteAllText(Path.Combine(directory, "config.sh"), "echo '{{ site }}' > /etc/site\necho '{{ unknown }}'\n");
        File.WriteAllBytes(Path.Combine(directory, "blob.bin"), [0xff, 0xfe, 0x7b, 0x7b]);
        var changed = RecipeBuild.RenderTemplates(directory,
            [new TemplateDictionaryEntry("image_name", "compute"), new TemplateDictionaryEntry("distribution", "bookworm"), new TemplateDictionaryEntry("site", "hpc")]);
        Assert.Equal(2, changed);
        var xml = File.ReadAllText(Path.Combine(directory, "config.xml"));
        Assert.Contains("name=\"compute\"", xml);
        Assert.Contains("distribution=\"bookworm\"", xml);
        Assert.Contains("{% if x %}jinja-left-alone{% endif %}", xml);
        Assert.Equal("echo 'hpc' > /etc/site\necho '{{ unknown }}'\n", File.ReadAllText(Path.Combine(directory, "config.sh")));
        Assert.Equal([0xff, 0xfe, 0x7b, 0x7b], File.ReadAllBytes(Path.Combine(directory, "blob.bin")));
        Assert.Equal(0, RecipeBuild.RenderTemplates(directory, []));
    }

    [Fact]
    public void RepositorySourcesComeFromTheDescriptionAndBadXmlIsAClearFailure()
    {
        File.WriteAllText(Path.Combine(directory, "config.xml"), Description);
        Assert.Equal(["http://deb.example.org/debian", "dir:///srv/repo"], RecipeBuild.RepositorySources(directory));
        File.WriteAllText(Path.Combine(directory, "config.xml"), "<image><repository>");
        var failure = Assert.Throws<JobFailedException>(() => RecipeBuild.RepositorySources(directory));
        Assert.StartsWith("The kiwi description config.xml is not well-formed XML", failure.Message);
    }
}
