namespace Cray.Ims.Tests;

/// <summary>create jobs (building an image from a recipe) at the API, with no worker running.</summary>
public sealed class CreateJobsApiTests : IDisposable
{
    private readonly ImsTestServer server = new();

    public void Dispose() => server.Dispose();

    private async Task<string> KeyAsync()
    {
        var (_, key, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/public-keys", """{"name":"k","public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX user@host"}""");
        return (string)key!["id"]!;
    }

    /// <summary>A recipe record, linked to an archive in the ims bucket unless told otherwise.</summary>
    private async Task<string> RecipeAsync(string recipeType = "kiwi-ng", string arch = "x86_64", bool link = true)
    {
        var (status, recipe, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/recipes",
            $$"""{"name":"compute","recipe_type":"{{recipeType}}","linux_distribution":"sles15","arch":"{{arch}}","require_dkms":false}""");
        Assert.Equal(201, status);
        var id = (string)recipe!["id"]!;
        if (link)
        {
            await server.PutObjectAsync($"recipes/{id}/recipe.tar.gz", "archive", bucket: "ims");
            (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/recipes/{id}",
                $$$"""{"link":{"type":"s3","path":"s3://ims/recipes/{{{id}}}/recipe.tar.gz"}}""");
            Assert.Equal(200, status);
        }
        return id;
    }

    private static string Body(string recipeId, string keyId, string extra = "")
        => $$$"""{"job_type":"create","artifact_id":"{{{recipeId}}}","public_key_id":"{{{keyId}}}","image_root_archive_name":"built"{{{extra}}}}""";

    [Fact]
    public async Task ALinkedKiwiRecipeMakesACreateJobWithTheRecipesArchAndNoSshContainer()
    {
        var keyId = await KeyAsync();
        var recipeId = await RecipeAsync();
        var (status, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(recipeId, keyId));
        Assert.Equal(201, status);
        Assert.Equal("create", (string?)job!["job_type"]);
        Assert.Equal(recipeId, (string?)job["artifact_id"]);
        Assert.Equal("creating", (string?)job["status"]);
        Assert.Equal("x86_64", (string?)job["arch"]);
        Assert.Equal("vmlinuz", (string?)job["kernel_file_name"]);
        Assert.False((bool)job["require_dkms"]!);
        Assert.Null(job["ssh_containers"]);

        var arm = await RecipeAsync(arch: "aarch64");
        (status, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(arm, keyId, ""","enable_debug":true"""));
        Assert.Equal(201, status);
        Assert.Equal("aarch64", (string?)job!["arch"]);
        Assert.Equal("Image", (string?)job["kernel_file_name"]);
        Assert.True((bool)job["require_dkms"]!);
        var container = Assert.Single(job["ssh_containers"]!.AsArray())!;
        Assert.Equal("debug", (string?)container["name"]);
        Assert.False((bool)container["jail"]!);
    }

    [Fact]
    public async Task RecipesThatCannotBeBuiltAreRefusedAndNoJobIsStored()
    {
        var keyId = await KeyAsync();
        var missing = Guid.NewGuid().ToString();
        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(missing, keyId));
        Assert.Equal(400, status);
        Assert.Equal($"Invalid artifact_id value in job request. No IMS recipe record found matching id={missing}.", (string?)problem!["detail"]);

        var unlinked = await RecipeAsync(link: false);
        (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(unlinked, keyId));
        Assert.Equal(400, status);
        Assert.Equal($"The IMS recipe does not have an artifact_link for recipe_id={unlinked}.", (string?)problem!["detail"]);

        var packer = await RecipeAsync(recipeType: "packer");
        (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(packer, keyId));
        Assert.Equal(400, status);
        Assert.Contains("only 'kiwi-ng' recipes can be built", (string?)problem!["detail"]);

        var recipe = await RecipeAsync();
        (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(recipe, keyId, ""","ssh_containers":[{"name":"x","jail":true}]"""));
        Assert.Equal(400, status);
        Assert.StartsWith("ssh_containers cannot be specified for a create job", (string?)problem!["detail"]);

        (status, _, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(recipe, keyId, ""","ssh_containers":[]"""));
        Assert.Equal(400, status);

        await server.Artifacts.DeleteAsync("ims", $"recipes/{recipe}/recipe.tar.gz");
        (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(recipe, keyId));
        Assert.Equal(422, status);
        Assert.Contains("cannot be validated", (string?)problem!["detail"]);

        var (_, jobs, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/jobs");
        Assert.Empty(jobs!.AsArray());
    }
}
