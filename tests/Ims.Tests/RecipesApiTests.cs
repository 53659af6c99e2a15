using System.Text.Json.Nodes;

namespace Cray.Ims.Tests;

public sealed class RecipesApiTests : IDisposable
{
    private const string NoInput = "No input provided. Determine the specific information that is missing or invalid and then re-run the request with valid information.";
    private const string Validation = "Input data was understood, but failed validation. Re-run request with valid input values for the fields indicated in the response.";
    private const string Conflict = "Requested resource exists, but cannot be patched due to a patch conflict. Re-run request with valid input values.";
    private const string MinimalRecipe = """{"name":"compute","recipe_type":"kiwi-ng","linux_distribution":"sles15"}""";
    private readonly ImsTestServer server = new();

    public void Dispose() => server.Dispose();

    [Theory]
    [InlineData("/apis/ims/v3")]
    [InlineData("/apis/ims/v2")]
    [InlineData("/apis/ims")]
    public async Task CreatedRecipeHasEveryFieldAndItsDefaultsInEveryRouteFamily(string prefix)
    {
        var recipe = await CreateRecipeAsync(MinimalRecipe, prefix);
        Assert.Equal(
            ["arch", "created", "id", "link", "linux_distribution", "name", "recipe_type", "require_dkms", "template_dictionary"],
            recipe.AsObject().Select(property => property.Key));
        Assert.Equal("x86_64", (string?)recipe["arch"]);
        Assert.Null(recipe["link"]);
        Assert.True((bool)recipe["require_dkms"]!);
        Assert.Empty(recipe["template_dictionary"]!.AsArray());
        Assert.Equal("kiwi-ng", (string?)recipe["recipe_type"]);
        Assert.Equal("sles15", (string?)recipe["linux_distribution"]);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$", (string?)recipe["id"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$", (string?)recipe["created"]);

        // One store behind all three families.
        foreach (var other in new[] { "/apis/ims/v3", "/apis/ims/v2", "/apis/ims" })
        {
            var (status, body, _) = await server.SendAsync(HttpMethod.Get, $"{other}/recipes/{recipe["id"]}");
            Assert.Equal(200, status);
            Assert.True(JsonNode.DeepEquals(recipe, body));
        }
        var (_, list, _) = await server.SendAsync(HttpMethod.Get, $"{prefix}/recipes");
        Assert.True(JsonNode.DeepEquals(recipe, Assert.Single(list!.AsArray())));
    }

    [Fact]
    public async Task CreateKeepsEveryGivenFieldAndALinkToAnExistingArchive()
    {
        var path = await UploadArchiveAsync("recipes/sles/recipe.tar.gz");
        var recipe = await CreateRecipeAsync($$$"""
            {"name":"packer-el","recipe_type":"packer","linux_distribution":"centos7","arch":"aarch64","require_dkms":false,
             "link":{"path":"{{{path}}}","etag":"abc","type":"s3"},
             "template_dictionary":[{"key":"CSM_RELEASE","value":"1.6"},{"key":"repo","value":"https://repo/x"}]}
            """);
        Assert.Equal("aarch64", (string?)recipe["arch"]);
        Assert.False((bool)recipe["require_dkms"]!);
        Assert.Equal("packer", (string?)recipe["recipe_type"]);
        Assert.Equal("centos7", (string?)recipe["linux_distribution"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""{"etag":"abc","path":"{{path}}","type":"s3"}"""), recipe["link"]));
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""[{"key":"CSM_RELEASE","value":"1.6"},{"key":"repo","value":"https://repo/x"}]"""), recipe["template_dictionary"]));
        var (_, stored, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{recipe["id"]}");
        Assert.True(JsonNode.DeepEquals(recipe, stored));
    }

    [Theory]
    [InlineData("POST", "")]
    [InlineData("POST", "{}")]
    [InlineData("POST", "not json")]
    [InlineData("POST", "[1,2]")]
    [InlineData("PATCH", "")]
    [InlineData("PATCH", "{}")]
    public async Task EmptyOrNonObjectBodyIsNoInput(string method, string body)
    {
        var path = "/apis/ims/v3/recipes";
        if (method == "PATCH")
        {
            path += "/" + (await CreateRecipeAsync(MinimalRecipe))["id"];
        }
        var (status, problem, contentType) = await server.SendAsync(new HttpMethod(method), path, body);
        Assert.Equal(400, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal(NoInput, (string?)problem!["detail"]);
        Assert.Equal("Bad Request", (string?)problem["title"]);
        var (_, list, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/recipes");
        Assert.Equal(method == "PATCH" ? 1 : 0, list!.AsArray().Count);
    }

    [Theory]
    [InlineData("""{"recipe_type":"kiwi-ng","linux_distribution":"sles15"}""", "name", "Missing data for required field.")]
    [InlineData("""{"name":" ","recipe_type":"kiwi-ng","linux_distribution":"sles15"}""", "name", "name field must not be blank")]
    [InlineData("""{"name":"r","linux_distribution":"sles15"}""", "recipe_type", "Missing data for required field.")]
    [InlineData("""{"name":"r","recipe_type":"docker","linux_distribution":"sles15"}""", "recipe_type", "Must be one of: kiwi-ng, packer.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng"}""", "linux_distribution", "Missing data for required field.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"debian12"}""", "linux_distribution", "Must be one of: centos7, sles12, sles15.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","arch":"sparc"}""", "arch", "Must be one of: aarch64, x86_64.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","require_dkms":"yes"}""", "require_dkms", "Not a valid boolean.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","id":"x"}""", "id", "Unknown field.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","created":"2020"}""", "created", "Unknown field.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","template_dictionary":{"a":"b"}}""", "template_dictionary", "Not a valid list.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","template_dictionary":[{"key":"a"}]}""", "template_dictionary/0/value", "Missing data for required field.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","template_dictionary":[{"key":"a","value":"b","x":1}]}""", "template_dictionary/0/x", "Unknown field.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","template_dictionary":["a=b"]}""", "template_dictionary/0", "Invalid input type.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","link":{"path":"s3://ims/r.tgz","type":"http"}}""", "link/type", "Type must be one of: s3.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","link":{"type":"s3"}}""", "link/path", "Missing data for required field.")]
    [InlineData("""{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","link":{"path":"/not/s3","type":"s3"}}""", "link/path", "'/not/s3' is not an s3://bucket/key address.")]
    public async Task SchemaFailuresAre422WithFieldErrorsAndNothingIsStored(string body, string field, string message)
    {
        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/recipes", body);
        Assert.Equal(422, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal(Validation, (string?)problem!["detail"]);
        Assert.Equal(message, (string?)At(problem["errors"], field)![0]);
        await AssertNoRecipesAsync();
    }

    [Fact]
    public async Task LinkToAMissingArchiveIs422AndNothingIsStored()
    {
        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/recipes",
            """{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","link":{"path":"s3://ims/recipes/none/recipe.tar.gz","type":"s3"}}""");
        Assert.Equal(422, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.StartsWith("The s3 artifact s3://ims/recipes/none/recipe.tar.gz cannot be validated.", (string?)problem!["detail"]);
        await AssertNoRecipesAsync();
    }

    [Fact]
    public async Task LinkPathMustBeUniqueAmongRecipes()
    {
        var path = await UploadArchiveAsync("recipes/shared/recipe.tar.gz");
        var first = await CreateRecipeAsync(WithLink(path));
        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/recipes", WithLink(path));
        Assert.Equal(422, status);
        Assert.Equal($"Recipe {first["id"]} already uses the link path {path}. The link value must be unique.", (string?)problem!["errors"]!["link"]![0]);

        var second = await CreateRecipeAsync(MinimalRecipe);
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/recipes/{second["id"]}", ImsTestServer.LinkBody(path));
        Assert.Equal(422, status);
        var (_, stored, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{second["id"]}");
        Assert.Null(stored!["link"]);
    }

    [Fact]
    public async Task PatchLinkIsValidatedSetOnceIdempotentAndConflictsWhenDifferent()
    {
        var id = (string)(await CreateRecipeAsync(MinimalRecipe))["id"]!;
        var (status, problem, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/recipes/{id}", ImsTestServer.LinkBody("s3://ims/recipes/later/r.tgz"));
        Assert.Equal(422, status);
        Assert.StartsWith("The s3 artifact s3://ims/recipes/later/r.tgz cannot be validated.", (string?)problem!["detail"]);

        var path = await UploadArchiveAsync("recipes/later/r.tgz");
        var (_, patched, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/recipes/{id}",
            $$$"""{"link":{"path":"{{{path}}}","etag":"first","type":"s3"}}""");
        Assert.Equal(path, (string?)patched!["link"]!["path"]);
        Assert.Equal("first", (string?)patched["link"]!["etag"]);

        // The same target again is a no-op, whatever etag it carries.
        (status, patched, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v2/recipes/{id}",
            $$$"""{"link":{"path":"{{{path}}}","etag":"second","type":"s3"}}""");
        Assert.Equal(200, status);
        Assert.Equal("first", (string?)patched!["link"]!["etag"]);

        var other = await UploadArchiveAsync("recipes/other/r.tgz");
        (status, problem, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/recipes/{id}", ImsTestServer.LinkBody(other));
        Assert.Equal(409, status);
        Assert.Equal(Conflict, (string?)problem!["detail"]);
        var (_, stored, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{id}");
        Assert.Equal(path, (string?)stored!["link"]!["path"]);
    }

    [Fact]
    public async Task PatchReplacesArchRequireDkmsAndTemplateDictionary()
    {
        var created = await CreateRecipeAsync(
            """{"name":"r","recipe_type":"kiwi-ng","linux_distribution":"sles15","template_dictionary":[{"key":"a","value":"1"}]}""");
        var (status, patched, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/recipes/{created["id"]}",
            """{"arch":"aarch64","require_dkms":false,"template_dictionary":[{"key":"b","value":"2"},{"key":"c","value":"3"}]}""");
        Assert.Equal(200, status);
        Assert.Equal("aarch64", (string?)patched!["arch"]);
        Assert.False((bool)patched["require_dkms"]!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"key":"b","value":"2"},{"key":"c","value":"3"}]"""), patched["template_dictionary"]));
        foreach (var unchanged in new[] { "id", "created", "name", "recipe_type", "linux_distribution", "link" })
        {
            Assert.True(JsonNode.DeepEquals(created[unchanged], patched[unchanged]), unchanged);
        }
        (_, patched, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/recipes/{created["id"]}", """{"template_dictionary":[]}""");
        Assert.Empty(patched!["template_dictionary"]!.AsArray());
        var (_, stored, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{created["id"]}");
        Assert.True(JsonNode.DeepEquals(patched, stored));
    }

    [Theory]
    [InlineData("""{"name":"renamed"}""", true)]
    [InlineData("""{"recipe_type":"packer"}""", true)]
    [InlineData("""{"arch":"aarch64","linux_distribution":"sles12"}""", true)]
    [InlineData("""{"arch":"sparc"}""", false)]
    [InlineData("""{"require_dkms":null}""", false)]
    [InlineData("""{"require_dkms":"no"}""", false)]
    [InlineData("""{"template_dictionary":[{"key":"a","value":5}]}""", false)]
    [InlineData("""{"link":"s3://ims/r.tgz"}""", false)]
    public async Task PatchOfAnUnsupportedOrInvalidFieldIs422AndChangesNothing(string body, bool unsupported)
    {
        var created = await CreateRecipeAsync(MinimalRecipe);
        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/recipes/{created["id"]}", body);
        Assert.Equal(422, status);
        Assert.Equal("application/problem+json", contentType);
        if (unsupported)
        {
            Assert.Empty(problem!["errors"]!.AsArray());
        }
        else
        {
            Assert.Equal(Validation, (string?)problem!["detail"]);
            Assert.NotEmpty(problem["errors"]!.AsObject());
        }
        var (_, stored, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{created["id"]}");
        Assert.True(JsonNode.DeepEquals(created, stored));
    }

    [Theory]
    [InlineData("GET", "/apis/ims/v3/recipes/nope")]
    [InlineData("PATCH", "/apis/ims/v3/recipes/nope")]
    [InlineData("DELETE", "/apis/ims/v3/recipes/nope")]
    [InlineData("DELETE", "/apis/ims/v2/recipes/nope")]
    [InlineData("DELETE", "/apis/ims/recipes/nope")]
    [InlineData("GET", "/apis/ims/v3/deleted/recipes/nope")]
    [InlineData("PATCH", "/apis/ims/v3/deleted/recipes/nope")]
    [InlineData("DELETE", "/apis/ims/v3/deleted/recipes/nope")]
    public async Task UnknownIdIs404Problem(string method, string path)
    {
        var (status, problem, contentType) = await server.SendAsync(new HttpMethod(method), path, method == "PATCH" ? """{"arch":"aarch64"}""" : null);
        Assert.Equal(404, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal("Requested resource does not exist. Re-run request with valid ID.", (string?)problem!["detail"]);
    }

    [Fact]
    public async Task SoftDeleteMovesTheArchiveAsideAndUndeleteRestoresBoth()
    {
        var key = "recipes/compute/recipe.tar.gz";
        var path = await UploadArchiveAsync(key);
        var created = await CreateRecipeAsync($$$"""
            {"name":"compute","recipe_type":"kiwi-ng","linux_distribution":"sles15","arch":"aarch64","require_dkms":false,
             "link":{"path":"{{{path}}}","type":"s3"},"template_dictionary":[{"key":"k","value":"v"}]}
            """);
        var id = (string)created["id"]!;

        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/recipes/{id}");
        Assert.Equal(204, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{id}");
        Assert.Equal(404, status);
        Assert.Null(await server.Artifacts.HeadAsync("ims", key));
        var movedArchive = (await server.Artifacts.HeadAsync("ims", $"deleted/{key}"));
        Assert.NotNull(movedArchive);

        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/recipes/{id}");
        Assert.Equal(
            ["arch", "created", "deleted", "id", "link", "linux_distribution", "name", "recipe_type", "require_dkms", "template_dictionary"],
            deleted!.AsObject().Select(property => property.Key));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$", (string?)deleted["deleted"]);
        Assert.Equal($"s3://ims/deleted/{key}", (string?)deleted["link"]!["path"]);
        Assert.Equal(movedArchive.ETag, (string?)deleted["link"]!["etag"]);
        foreach (var kept in new[] { "id", "created", "name", "arch", "require_dkms", "recipe_type", "linux_distribution", "template_dictionary" })
        {
            Assert.True(JsonNode.DeepEquals(created[kept], deleted[kept]), kept);
        }

        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/deleted/recipes/{id}", """{"operation":"undelete"}""");
        Assert.Equal(204, status);
        var (_, restored, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{id}");
        foreach (var kept in new[] { "id", "created", "name", "arch", "require_dkms", "recipe_type", "linux_distribution", "template_dictionary" })
        {
            Assert.True(JsonNode.DeepEquals(created[kept], restored![kept]), kept);
        }
        Assert.Equal(path, (string?)restored!["link"]!["path"]);
        Assert.NotNull(await server.Artifacts.HeadAsync("ims", key));
        Assert.Null(await server.Artifacts.HeadAsync("ims", $"deleted/{key}"));
        var (_, deletedList, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/deleted/recipes");
        Assert.Empty(deletedList!.AsArray());
    }

    [Fact]
    public async Task SoftDeleteOfARecipeWhoseArchiveIsGoneKeepsItsLink()
    {
        var path = await UploadArchiveAsync("recipes/gone/recipe.tar.gz");
        var id = (string)(await CreateRecipeAsync(WithLink(path)))["id"]!;
        await server.Artifacts.DeleteAsync("ims", "recipes/gone/recipe.tar.gz");

        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/recipes/{id}");
        Assert.Equal(204, status);
        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/recipes/{id}");
        Assert.Equal(path, (string?)deleted!["link"]!["path"]);
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/deleted/recipes/{id}", """{"operation":"undelete"}""");
        Assert.Equal(204, status);
        var (_, restored, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{id}");
        Assert.Equal(path, (string?)restored!["link"]!["path"]);
    }

    [Fact]
    public async Task PurgeRemovesTheDeletedRecordAndItsArchive()
    {
        var id = (string)(await CreateRecipeAsync(WithLink(await UploadArchiveAsync("recipes/purge/recipe.tar.gz"))))["id"]!;
        await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/recipes/{id}");
        Assert.Single(await server.Artifacts.ListObjectsAsync("ims").ToListAsync());

        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/deleted/recipes/{id}");
        Assert.Equal(204, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/recipes/{id}");
        Assert.Equal(404, status);
        Assert.Empty(await server.Artifacts.ListObjectsAsync("ims").ToListAsync());
        await AssertNoRecipesAsync();
    }

    [Theory]
    [InlineData("/apis/ims/v2", "", false)]
    [InlineData("/apis/ims", "?cascade=true", false)]
    [InlineData("/apis/ims/v2", "?cascade=false", true)]
    [InlineData("/apis/ims", "?cascade=no", true)]
    public async Task HardDeleteRemovesTheRecordAndWithCascadeTheArchive(string prefix, string query, bool archiveRemains)
    {
        var id = (string)(await CreateRecipeAsync(WithLink(await UploadArchiveAsync("recipes/hard/recipe.tar.gz"))))["id"]!;
        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"{prefix}/recipes/{id}{query}");
        Assert.Equal(204, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{id}");
        Assert.Equal(404, status);
        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/deleted/recipes");
        Assert.Empty(deleted!.AsArray());
        Assert.Equal(archiveRemains, (await server.Artifacts.HeadAsync("ims", "recipes/hard/recipe.tar.gz")) is not null);
    }

    [Fact]
    public async Task DeleteAllUndeleteAllAndPurgeAll()
    {
        await CreateRecipeAsync(WithLink(await UploadArchiveAsync("recipes/a/recipe.tar.gz")));
        await CreateRecipeAsync(MinimalRecipe);
        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, "/apis/ims/v3/recipes");
        Assert.Equal(204, status);
        await AssertNoRecipesAsync();
        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/deleted/recipes");
        Assert.Equal(2, deleted!.AsArray().Count);
        Assert.NotNull(await server.Artifacts.HeadAsync("ims", "deleted/recipes/a/recipe.tar.gz"));

        (status, _, _) = await server.SendAsync(HttpMethod.Patch, "/apis/ims/v3/deleted/recipes", """{"operation":"undelete"}""");
        Assert.Equal(204, status);
        var (_, recipes, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/recipes");
        Assert.Equal(2, recipes!.AsArray().Count);
        Assert.NotNull(await server.Artifacts.HeadAsync("ims", "recipes/a/recipe.tar.gz"));

        await server.SendAsync(HttpMethod.Delete, "/apis/ims/v3/recipes");
        (status, _, _) = await server.SendAsync(HttpMethod.Delete, "/apis/ims/v3/deleted/recipes");
        Assert.Equal(204, status);
        (_, deleted, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/deleted/recipes");
        Assert.Empty(deleted!.AsArray());
        Assert.Empty(await server.Artifacts.ListObjectsAsync("ims").ToListAsync());
    }

    [Fact]
    public async Task HardDeleteAllWithCascadeRemovesEveryArchive()
    {
        await CreateRecipeAsync(WithLink(await UploadArchiveAsync("recipes/one/recipe.tar.gz")));
        await CreateRecipeAsync(WithLink(await UploadArchiveAsync("recipes/two/recipe.tar.gz")));
        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, "/apis/ims/recipes");
        Assert.Equal(204, status);
        await AssertNoRecipesAsync();
        Assert.Empty(await server.Artifacts.ListObjectsAsync("ims").ToListAsync());
    }

    [Theory]
    [InlineData("""{"operation":"purge"}""", 422)]
    [InlineData("""{"op":"undelete"}""", 422)]
    [InlineData("{}", 400)]
    public async Task DeletedPatchAcceptsOnlyUndelete(string body, int expected)
    {
        var id = (string)(await CreateRecipeAsync(MinimalRecipe))["id"]!;
        await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/recipes/{id}");
        var (status, _, contentType) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/deleted/recipes/{id}", body);
        Assert.Equal(expected, status);
        Assert.Equal("application/problem+json", contentType);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/recipes/{id}");
        Assert.Equal(200, status);
    }

    [Theory]
    [InlineData("/apis/ims/v2/deleted/recipes")]
    [InlineData("/apis/ims/deleted/recipes")]
    public async Task DeletedRecipesExistOnlyUnderV3(string path)
    {
        var (status, _, contentType) = await server.SendAsync(HttpMethod.Get, path);
        Assert.Equal(404, status);
        Assert.Equal("application/problem+json", contentType);
    }

    [Fact]
    public async Task OnePathUsedByTwoRecipesInTurnNeverLosesOrOverwritesAnArchive()
    {
        var path = await UploadArchiveAsync("recipes/shared/recipe.tar.gz");
        var first = (string)(await CreateRecipeAsync(WithLink(path)))["id"]!;
        Assert.Equal(204, (await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/recipes/{first}")).Status);

        // The path is free again: a second recipe uploads its own archive there.
        await server.PutObjectAsync("recipes/shared/recipe.tar.gz", "the second archive", bucket: "ims");
        var second = (string)(await CreateRecipeAsync(WithLink(path)))["id"]!;

        // Undeleting the first would put two live recipes on one link.
        var (status, problem, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/deleted/recipes/{first}", """{"operation":"undelete"}""");
        Assert.Equal(422, status);
        Assert.Contains($"recipe {second} now uses its link path", (string?)problem!["detail"]);

        // Soft-deleting the second would overwrite the first's archive under deleted/.
        (status, problem, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/recipes/{second}");
        Assert.Equal(422, status);
        Assert.Contains("another recipe's archive is there", (string?)problem!["detail"]);
        Assert.Equal(200, (await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/recipes/{second}")).Status);

        await AssertObjectTextAsync("recipes/shared/recipe.tar.gz", "the second archive");
        await AssertObjectTextAsync("deleted/recipes/shared/recipe.tar.gz", "a gzipped tar of recipes/shared/recipe.tar.gz");
    }

    [Fact]
    public async Task PurgingARecipeWhoseArchiveWasGoneLeavesTheObjectNowAtThatPath()
    {
        var path = await UploadArchiveAsync("recipes/gone/recipe.tar.gz");
        var id = (string)(await CreateRecipeAsync(WithLink(path)))["id"]!;
        await server.Artifacts.DeleteAsync("ims", "recipes/gone/recipe.tar.gz");
        Assert.Equal(204, (await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/recipes/{id}")).Status);
        await server.PutObjectAsync("recipes/gone/recipe.tar.gz", "someone else's archive", bucket: "ims");

        Assert.Equal(204, (await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/deleted/recipes/{id}")).Status);
        await AssertObjectTextAsync("recipes/gone/recipe.tar.gz", "someone else's archive");
    }

    private async Task AssertObjectTextAsync(string key, string expected)
    {
        await using var content = await server.Artifacts.OpenReadAsync("ims", key);
        Assert.NotNull(content);
        using var reader = new StreamReader(content.Stream);
        Assert.Equal(expected, await reader.ReadToEndAsync());
    }

    private async Task<JsonNode> CreateRecipeAsync(string body, string prefix = "/apis/ims/v3")
    {
        var (status, recipe, _) = await server.SendAsync(HttpMethod.Post, $"{prefix}/recipes", body);
        Assert.Equal(201, status);
        return recipe!;
    }

    private async Task<string> UploadArchiveAsync(string key)
    {
        await server.PutObjectAsync(key, $"a gzipped tar of {key}", bucket: "ims");
        return $"s3://ims/{key}";
    }

    private static string WithLink(string path)
        => $$$"""{"name":"linked","recipe_type":"kiwi-ng","linux_distribution":"sles15","link":{"path":"{{{path}}}","type":"s3"}}""";

    /// <summary>The node at a slash-separated path of object keys (list indexes are keys in the reference's error maps).</summary>
    private static JsonNode? At(JsonNode? node, string path)
        => path.Split('/').Aggregate(node, (current, key) => current?[key]);

    private async Task AssertNoRecipesAsync()
    {
        var (_, recipes, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/recipes");
        Assert.Empty(recipes!.AsArray());
    }
}
