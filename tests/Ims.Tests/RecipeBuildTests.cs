using System.Formats.Tar;
using System.IO.Compression;
using Cray.Ims.Model;
using Cray.Ims.Worker;

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

    private string Archive(params TarEntry[] entries)
    {
        var path = Path.Combine(directory, $"archive-{Guid.NewGuid()}.tar.gz");
        using (var file = File.Create(path))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        using (var writer = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }
        return path;
    }

    private static PaxTarEntry FileEntry(string name) => new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream("x"u8.ToArray()) };

    private static PaxTarEntry Link(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    [Fact]
    public async Task AnArchiveOfFilesDirectoriesAndInnerLinksIsAccepted()
    {
        var archive = Archive(new PaxTarEntry(TarEntryType.Directory, "./debian/"), FileEntry("./debian/config.xml"), Link("./debian/root/etc/alias", "../../config.xml"));
        await RecipeBuild.CheckArchiveEntriesAsync(archive, "s3://ims/r.tgz", CancellationToken.None);
    }

    [Theory]
    [InlineData("link-out")]
    [InlineData("absolute-link")]
    [InlineData("dot-dot")]
    [InlineData("absolute-name")]
    [InlineData("fifo")]
    [InlineData("device")]
    [InlineData("hard-link")]
    public async Task ArchivesThatCouldReachOutsideTheRecipeAreRefused(string kind)
    {
        TarEntry entry = kind switch
        {
            "link-out" => Link("debian/escape", "../../etc"),
            "absolute-link" => Link("debian/etc", "/etc"),
            "dot-dot" => FileEntry("debian/../../escape"),
            "absolute-name" => FileEntry("/etc/cron.d/job"),
            "fifo" => new PaxTarEntry(TarEntryType.Fifo, "debian/pipe"),
            "device" => new PaxTarEntry(TarEntryType.CharacterDevice, "debian/zero") { DeviceMajor = 1, DeviceMinor = 5 },
            _ => new PaxTarEntry(TarEntryType.HardLink, "debian/passwd") { LinkName = "/etc/passwd" },
        };
        var failure = await Assert.ThrowsAsync<JobFailedException>(() => RecipeBuild.CheckArchiveEntriesAsync(Archive(FileEntry("debian/config.xml"), entry), "s3://ims/r.tgz", CancellationToken.None));
        Assert.StartsWith("The recipe s3://ims/r.tgz holds", failure.Message);
    }

    [Fact]
    public async Task SomethingThatIsNotAGzippedTarIsAClearFailure()
    {
        var path = Path.Combine(directory, "plain.txt");
        await File.WriteAllTextAsync(path, "not an archive");
        var failure = await Assert.ThrowsAsync<JobFailedException>(() => RecipeBuild.CheckArchiveEntriesAsync(path, "s3://ims/r.tgz", CancellationToken.None));
        Assert.StartsWith("The recipe s3://ims/r.tgz is not a gzip-compressed tar archive", failure.Message);
    }

    [Fact]
    public void TemplatesNeverFollowALinkOutOfTheRecipe()
    {
        var outside = Directory.CreateDirectory(Path.Combine(directory, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "victim.conf"), "{{ site }}");
        var recipe = Directory.CreateDirectory(Path.Combine(directory, "recipe")).FullName;
        File.WriteAllText(Path.Combine(recipe, "config.xml"), "{{ site }}");
        Directory.CreateSymbolicLink(Path.Combine(recipe, "linked-directory"), outside);
        File.CreateSymbolicLink(Path.Combine(recipe, "linked-file"), Path.Combine(outside, "victim.conf"));

        Assert.Equal(1, RecipeBuild.RenderTemplates(recipe, [new TemplateDictionaryEntry("site", "hpc")]));
        Assert.Equal("hpc", File.ReadAllText(Path.Combine(recipe, "config.xml")));
        Assert.Equal("{{ site }}", File.ReadAllText(Path.Combine(outside, "victim.conf")));
    }
}
