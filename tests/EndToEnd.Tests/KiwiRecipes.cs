using System.Text.Json.Nodes;
using Cray.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// A Debian kiwi-ng recipe with a template dictionary, registered as the documented "Upload and
/// Register an Image Recipe" does; built by the real kiwi-ng.
/// </summary>
public static class KiwiRecipes
{
    public const string Description = """
        <?xml version="1.0" encoding="utf-8"?>
        <image schemaversion="7.4" name="cray-test-{{ distribution }}">
            <description type="system">
                <author>cray tests</author>
                <contact>tests@example.com</contact>
                <specification>A minimal Debian image root</specification>
            </description>
            <preferences>
                <version>1.0.0</version>
                <packagemanager>apt</packagemanager>
                <locale>en_US</locale>
                <keytable>us</keytable>
                <timezone>UTC</timezone>
                <rpm-check-signatures>false</rpm-check-signatures>
                <type image="tbz"/>
            </preferences>
            <users>
                <user password="" home="/root" name="root" groups="root"/>
            </users>
            <repository type="apt-deb" alias="debian" distribution="{{ distribution }}" components="main" repository_gpgcheck="false">
                <source path="http://deb.debian.org/debian"/>
            </repository>
            <packages type="image">
                <package name="python3-minimal"/>
            </packages>
            <packages type="bootstrap">
                <package name="ca-certificates"/>
            </packages>
        </image>
        """;

    /// <summary>The recipe's archive: the description, a templated file in its root/ overlay and, if given, a config.sh.</summary>
    public static async Task<string> ArchiveAsync(CrayEnvironment cray, string name = "debian", string description = Description, string? configScript = null)
    {
        var source = Path.Combine(cray.Root, "recipe-source-" + name, "debian");
        Directory.CreateDirectory(Path.Combine(source, "root", "etc"));
        await File.WriteAllTextAsync(Path.Combine(source, "config.xml"), description);
        if (configScript is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(source, "config.sh"), configScript);
        }
        // kiwi copies the description's root/ overlay into the image: the templated marker lands in /etc.
        await File.WriteAllTextAsync(Path.Combine(source, "root", "etc", "cray-site"), "built for {{ site_name }}\n");
        var archive = Path.Combine(cray.Root, name + ".tar.gz");
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("tar", ["-c", "-z", "-f", archive, "-C", Path.GetDirectoryName(source)!, "debian"]));
        return archive;
    }

    /// <summary>The documented upload: create the record, put the archive in the ims bucket, link it.</summary>
    public static async Task<string> RegisterAsync(CrayEnvironment cray, string archive, string name = "debian-test")
    {
        var recipe = await JsonAsync(cray, "ims", "recipes", "create", "--name", name, "--recipe-type", "kiwi-ng", "--linux-distribution", "sles15",
            "--template-dictionary-key", "distribution,site_name", "--template-dictionary-value", "bookworm,hpc-test");
        var recipeId = (string)recipe["id"]!;
        var upload = await cray.CrayAsync("artifacts", "create", "ims", $"recipes/{recipeId}/recipe.tar.gz", archive);
        Assert.True(upload.ExitCode == 0, upload.Error);
        await JsonAsync(cray, "ims", "recipes", "update", recipeId, "--link-type", "s3", "--link-path", $"s3://ims/recipes/{recipeId}/recipe.tar.gz");
        return recipeId;
    }

    private static async Task<JsonNode> JsonAsync(CrayEnvironment cray, params string[] arguments)
    {
        var result = await cray.CrayAsync([.. arguments, "--format", "json"]);
        Assert.True(result.ExitCode == 0, $"cray {string.Join(' ', arguments)}: {result.Error}");
        return JsonNode.Parse(result.Output)!;
    }
}
