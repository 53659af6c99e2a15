using System.Text.Json.Nodes;
using Cray.Platform.Processes;

namespace Cray.EndToEnd.Tests;

/// <summary>
/// The documented "Upload and Register an Image Recipe" and "Build an Image Using IMS", command for
/// command: a Debian kiwi-ng recipe with a template dictionary, built by the real kiwi-ng.
/// </summary>
public sealed class RecipeBuildJobTests(JobEnvironment environment) : IClassFixture<JobEnvironment>
{
    private CrayEnvironment Cray => environment.Cray;

    private const string Description = """
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

    private async Task<string> RecipeArchiveAsync(string name = "debian", string description = Description)
    {
        var source = Path.Combine(Cray.Root, "recipe-source-" + name, "debian");
        Directory.CreateDirectory(Path.Combine(source, "root", "etc"));
        await File.WriteAllTextAsync(Path.Combine(source, "config.xml"), description);
        // kiwi copies the description's root/ overlay into the image: the templated marker lands in /etc.
        await File.WriteAllTextAsync(Path.Combine(source, "root", "etc", "cray-site"), "built for {{ site_name }}\n");
        var archive = Path.Combine(Cray.Root, name + ".tar.gz");
        await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("tar", ["-c", "-z", "-f", archive, "-C", Path.GetDirectoryName(source)!, "debian"]));
        return archive;
    }

    private async Task<JsonNode> CrayJsonAsync(params string[] arguments)
    {
        var result = await Cray.CrayAsync([.. arguments, "--format", "json"]);
        Assert.True(result.ExitCode == 0, $"cray {string.Join(' ', arguments)}: {result.Error}");
        return JsonNode.Parse(result.Output)!;
    }

    /// <summary>The documented upload: create the record, put the archive in the ims bucket, link it.</summary>
    private async Task<string> RegisterRecipeAsync(string archive)
    {
        var recipe = await CrayJsonAsync("ims", "recipes", "create", "--name", "debian-test", "--recipe-type", "kiwi-ng", "--linux-distribution", "sles15",
            "--template-dictionary-key", "distribution,site_name", "--template-dictionary-value", "bookworm,hpc-test");
        var recipeId = (string)recipe["id"]!;
        var upload = await Cray.CrayAsync("artifacts", "create", "ims", $"recipes/{recipeId}/recipe.tar.gz", archive);
        Assert.True(upload.ExitCode == 0, upload.Error);
        await CrayJsonAsync("ims", "recipes", "update", recipeId, "--link-type", "s3", "--link-path", $"s3://ims/recipes/{recipeId}/recipe.tar.gz");
        return recipeId;
    }

    [Fact]
    public async Task AFailedBuildWithEnableDebugOpensAShellThenEndsInErrorLeavingNothing()
    {
        // Not a kiwi description kiwi accepts (no <description>, no <preferences>): kiwi-ng fails at once.
        var recipeId = await RegisterRecipeAsync(await RecipeArchiveAsync("broken", """<?xml version="1.0"?><image schemaversion="7.4" name="broken"/>"""));
        var imagesBefore = (await CrayJsonAsync("ims", "images", "list")).AsArray().Count;
        var job = await CrayJsonAsync("ims", "jobs", "create", "--job-type", "create", "--artifact-id", recipeId,
            "--public-key-id", environment.PublicKeyId, "--image-root-archive-name", "never", "--enable-debug", "true");
        var jobId = (string)job["id"]!;
        Assert.Equal("debug", (string?)job["ssh_containers"]![0]!["name"]);

        var waiting = await environment.WaitAsync(jobId, until: "waiting_on_user");
        Assert.Equal("waiting_on_user", (string?)waiting["status"]);
        await environment.SshCheckedAsync(JobEnvironment.SshPort(waiting), $"touch {environment.JobDirectory(jobId)}/complete");
        var finished = await environment.WaitAsync(jobId);
        Assert.Equal("error", (string?)finished["status"]);
        Assert.Null(finished["resultant_image_id"]);

        var log = (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output;
        Assert.Contains("kiwi-ng system prepare failed with exit code", log);
        Assert.Contains("enable_debug: the build environment stays up for debugging", log);
        Assert.Equal(imagesBefore, (await CrayJsonAsync("ims", "images", "list")).AsArray().Count);
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
        Assert.False(JobEnvironment.SshdRunningFor(jobId));
    }

    [Fact]
    public async Task DeletingAJobWhileKiwiBuildsStopsKiwiAndLeavesNoMountOrDirectory()
    {
        var recipeId = await RegisterRecipeAsync(await RecipeArchiveAsync("deleted-while-building"));
        var job = await CrayJsonAsync("ims", "jobs", "create", "--job-type", "create", "--artifact-id", recipeId,
            "--public-key-id", environment.PublicKeyId, "--image-root-archive-name", "never-finished");
        var jobId = (string)job["id"]!;
        Assert.Equal("building_image", (string?)(await environment.WaitAsync(jobId, until: "building_image"))["status"]);
        // Let kiwi get into its bootstrap, with its bind mounts in the image root.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output.Contains("Installing bootstrap packages") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        Assert.Equal(0, (await Cray.CrayAsync("ims", "jobs", "delete", jobId)).ExitCode);
        var directory = environment.JobDirectory(jobId);
        deadline = DateTime.UtcNow.AddSeconds(60);
        while (Directory.Exists(directory) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }
        Assert.False(Directory.Exists(directory));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), line => line.Contains(directory, StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc"), process =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(process, "cmdline")).Contains(directory, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        });
    }

    [Fact]
    public async Task ARecipeIsBuiltWithKiwiIntoARegisteredImage()
    {
        var recipeId = await RegisterRecipeAsync(await RecipeArchiveAsync());

        var job = await CrayJsonAsync("ims", "jobs", "create", "--job-type", "create", "--artifact-id", recipeId,
            "--public-key-id", environment.PublicKeyId, "--image-root-archive-name", "debian-built");
        var jobId = (string)job["id"]!;
        Assert.Null(job["ssh_containers"]);
        var wait = await Cray.CrayAsync("ims", "jobs", "wait", jobId, "--timeout", "15m", "--format", "json");
        var log = (await Cray.CrayAsync("ims", "jobs", "logs", jobId)).Output;
        Assert.True(wait.ExitCode == 0, log);
        var finished = JsonNode.Parse(wait.Output)!;
        Assert.Equal("success", (string?)finished["status"]);
        foreach (var phase in new[] { "fetching_recipe", "waiting_for_repos", "building_image", "packaging_artifacts" })
        {
            Assert.Contains($"Phase {phase} finished in", log);
        }
        Assert.Contains("the template dictionary (2 keys) filled in 2 files", log);
        Assert.Contains("Repository http://deb.debian.org/debian: answers", log);

        var resultId = (string)finished["resultant_image_id"]!;
        var image = await CrayJsonAsync("ims", "images", "describe", resultId);
        Assert.Equal("debian-built", (string?)image["name"]);
        var rootfs = Path.Combine(Cray.Root, "built.squashfs");
        Assert.Equal(0, (await Cray.CrayAsync("artifacts", "get", "boot-images", $"{resultId}/rootfs", rootfs)).ExitCode);
        var marker = await ProcessRunner.Instance.RunAsync(new ProcessRequest("unsquashfs", ["-cat", rootfs, "etc/cray-site"]));
        Assert.Equal("built for hpc-test", marker.Output.Trim());
        var listing = await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest("unsquashfs", ["-l", rootfs, "usr/bin"]));
        Assert.Contains("python3", listing.Output);
        Assert.False(Directory.Exists(environment.JobDirectory(jobId)));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mounts"), line => line.Contains(environment.JobDirectory(jobId), StringComparison.Ordinal));
    }
}
