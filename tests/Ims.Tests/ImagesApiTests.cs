namespace Cray.Ims.Tests;

public sealed class ImagesApiTests : IDisposable
{
    private const string NoInput = "No input provided. Determine the specific information that is missing or invalid and then re-run the request with valid information.";
    private const string Validation = "Input data was understood, but failed validation. Re-run request with valid input values for the fields indicated in the response.";
    private readonly ImsTestServer server = new();

    public void Dispose() => server.Dispose();

    [Theory]
    [InlineData("/apis/ims/v3")]
    [InlineData("/apis/ims/v2")]
    [InlineData("/apis/ims")]
    public async Task CreatedImageHasEveryFieldInEveryRouteFamily(string prefix)
    {
        var image = await server.CreateImageAsync("sles", prefix);
        Assert.Equal(["arch", "created", "id", "link", "metadata", "name"], image.AsObject().Select(p => p.Key));
        Assert.Equal("x86_64", (string?)image["arch"]);
        Assert.Null(image["link"]);
        Assert.Empty(image["metadata"]!.AsObject());
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$", (string?)image["id"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$", (string?)image["created"]);

        // One store behind all three families.
        foreach (var other in new[] { "/apis/ims/v3", "/apis/ims/v2", "/apis/ims" })
        {
            var (status, body, _) = await server.SendAsync(HttpMethod.Get, $"{other}/images/{image["id"]}");
            Assert.Equal(200, status);
            Assert.Equal("sles", (string?)body!["name"]);
        }
        var (_, list, _) = await server.SendAsync(HttpMethod.Get, $"{prefix}/images");
        Assert.Single(list!.AsArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    public async Task EmptyOrNonObjectBodyIsNoInput(string body)
    {
        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", body);
        Assert.Equal(400, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal(NoInput, (string?)problem!["detail"]);
        Assert.Equal("Bad Request", (string?)problem["title"]);
        Assert.Equal(400, (int?)problem["status"]);
        await AssertNoImagesAsync();
    }

    [Theory]
    [InlineData("""{"name":"x","id":"00000000-0000-4000-8000-000000000000"}""", "id", "Unknown field.")]
    [InlineData("""{"name":"x","created":"2020"}""", "created", "Unknown field.")]
    [InlineData("""{"arch":"x86_64"}""", "name", "Missing data for required field.")]
    [InlineData("""{"name":"  "}""", "name", "name field must not be blank")]
    [InlineData("""{"name":5}""", "name", "Not a valid string.")]
    [InlineData("""{"name":"x","arch":"sparc"}""", "arch", "Must be one of: aarch64, x86_64.")]
    public async Task SchemaFailuresAre422WithFieldErrors(string body, string field, string message)
    {
        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", body);
        Assert.Equal(422, status);
        Assert.Equal(Validation, (string?)problem!["detail"]);
        Assert.Equal(message, (string?)problem["errors"]![field]![0]);
        await AssertNoImagesAsync();
    }

    [Fact]
    public async Task LinkTypeOtherThanS3IsRejected()
    {
        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"x","link":{"path":"s3://boot-images/a","type":"http"}}""");
        Assert.Equal(422, status);
        Assert.Equal("Type must be one of: s3.", (string?)problem!["errors"]!["link"]!["type"]![0]);
    }

    [Fact]
    public async Task MetadataAcceptsAMapOrTheClisSinglePair()
    {
        var (_, map, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"a","metadata":{"team":"hpc","os":"sles"}}""");
        Assert.Equal("hpc", (string?)map!["metadata"]!["team"]);
        var (_, pair, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"b","metadata":{"key":"team"}}""");
        Assert.Equal("", (string?)pair!["metadata"]!["team"]);
    }

    [Fact]
    public async Task UnknownIdIs404ProblemOnGetPatchAndDelete()
    {
        foreach (var (method, body) in new[] { (HttpMethod.Get, (string?)null), (HttpMethod.Patch, """{"arch":"aarch64"}"""), (HttpMethod.Delete, null) })
        {
            var (status, problem, contentType) = await server.SendAsync(method, "/apis/ims/v3/images/not-a-uuid", body);
            Assert.Equal(404, status);
            Assert.Equal("application/problem+json", contentType);
            Assert.Equal("Requested resource does not exist. Re-run request with valid ID.", (string?)problem!["detail"]);
        }
    }

    [Fact]
    public async Task LinkIsValidatedSetOnceIdempotentAndConflictsWhenDifferent()
    {
        var image = await server.CreateImageAsync();
        var id = (string)image["id"]!;
        var manifest = await server.UploadImageFilesAsync(id);

        var (status, patched, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", ImsTestServer.LinkBody(manifest));
        Assert.Equal(200, status);
        Assert.Equal(manifest, (string?)patched!["link"]!["path"]);
        Assert.Equal("", (string?)patched["link"]!["etag"]);

        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", ImsTestServer.LinkBody(manifest));
        Assert.Equal(200, status);

        var other = await server.UploadImageFilesAsync("other");
        var (conflict, problem, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", ImsTestServer.LinkBody(other));
        Assert.Equal(409, conflict);
        Assert.Equal("Requested resource exists, but cannot be patched due to a patch conflict. Re-run request with valid input values.", (string?)problem!["detail"]);
    }

    [Fact]
    public async Task LinkPathMustBeUniqueAmongImages()
    {
        var first = await server.CreateImageAsync("first");
        var manifest = await server.UploadImageFilesAsync((string)first["id"]!);
        await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{first["id"]}", ImsTestServer.LinkBody(manifest));

        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images",
            $$$"""{"name":"second","link":{"path":"{{{manifest}}}","type":"s3"}}""");
        Assert.Equal(422, status);
        Assert.Contains("The link value must be unique", (string?)problem!["errors"]!["link"]![0]);
        var (_, list, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/images");
        Assert.Single(list!.AsArray());
    }

    [Fact]
    public async Task MissingManifestIs422AndNothingIsStored()
    {
        var image = await server.CreateImageAsync();
        var (status, problem, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{image["id"]}",
            ImsTestServer.LinkBody("s3://boot-images/nothing/manifest.json"));
        Assert.Equal(422, status);
        Assert.StartsWith("The s3 artifact s3://boot-images/nothing/manifest.json cannot be validated.", (string?)problem!["detail"]);
        var (_, stored, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{image["id"]}");
        Assert.Null(stored!["link"]);
    }

    [Theory]
    [InlineData("this is not json", 422)]
    [InlineData("""{"version":"2.0","artifacts":[]}""", 422)]
    [InlineData("""{"artifacts":[]}""", 422)]
    [InlineData("""{"version":"1.0","artifacts":[{"link":{"path":"s3://boot-images/missing/rootfs","type":"s3"},"md5":"","type":"application/vnd.cray.image.rootfs.squashfs"}]}""", 422)]
    [InlineData("""{"version":"1.0","artifacts":[{"md5":"","type":"application/vnd.cray.image.rootfs.squashfs"}]}""", 422)]
    [InlineData("""{"version":"1.0","artifacts":[]}""", 400)]
    public async Task InvalidManifestsAreRefused(string manifest, int expectedStatus)
    {
        await server.PutObjectAsync("bad/manifest.json", manifest);
        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images",
            """{"name":"x","link":{"path":"s3://boot-images/bad/manifest.json","type":"s3"}}""");
        Assert.Equal(expectedStatus, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.NotNull(problem!["detail"]);
        await AssertNoImagesAsync();
    }

    [Fact]
    public async Task ManifestWithTwoRootFileSystemsIs400()
    {
        var manifest = await server.UploadImageFilesAsync("two", rootFileSystems: 2);
        var (status, _, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", $$$"""{"name":"x","link":{"path":"{{{manifest}}}","type":"s3"}}""");
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task OversizedManifestIs400()
    {
        await server.PutObjectAsync("huge/manifest.json", new string(' ', 1024 * 1024 + 1));
        var (status, _, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/images", """{"name":"x","link":{"path":"s3://boot-images/huge/manifest.json","type":"s3"}}""");
        Assert.Equal(400, status);
        await AssertNoImagesAsync();
    }

    [Fact]
    public async Task MetadataSetOverwritesRemoveIsANoOpWhenMissingAndArchIsReplaced()
    {
        var id = (string)(await server.CreateImageAsync())["id"]!;
        await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"metadata":{"operation":"set","key":"k","value":"1"}}""");
        var (_, image, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"metadata":{"operation":"set","key":"k","value":"2"}}""");
        Assert.Equal("2", (string?)image!["metadata"]!["k"]);
        (_, image, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"metadata":{"operation":"remove","key":"absent"}}""");
        Assert.Equal("2", (string?)image!["metadata"]!["k"]);
        (_, image, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"metadata":{"operation":"remove","key":"k"}}""");
        Assert.Empty(image!["metadata"]!.AsObject());
        (_, image, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"arch":"aarch64"}""");
        Assert.Equal("aarch64", (string?)image!["arch"]);
    }

    [Fact]
    public async Task PatchWithAnUnsupportedKeyIs422WithEmptyErrorList()
    {
        var id = (string)(await server.CreateImageAsync())["id"]!;
        var (status, problem, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"name":"renamed"}""");
        Assert.Equal(422, status);
        Assert.Empty(problem!["errors"]!.AsArray());
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", "{}");
        Assert.Equal(400, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"metadata":{"operation":"rename","key":"k"}}""");
        Assert.Equal(422, status);
        var (_, image, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{id}");
        Assert.Equal("image", (string?)image!["name"]);
    }

    [Fact]
    public async Task SoftDeleteThenUndeleteRestoresRecordAndArtifacts()
    {
        var created = await server.CreateImageAsync("restorable");
        var id = (string)created["id"]!;
        var manifest = await server.UploadImageFilesAsync(id);
        await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", ImsTestServer.LinkBody(manifest));
        await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"arch":"aarch64"}""");
        var (_, before, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", """{"metadata":{"operation":"set","key":"k","value":"v"}}""");

        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/images/{id}");
        Assert.Equal(204, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{id}");
        Assert.Equal(404, status);
        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/images/{id}");
        Assert.Equal($"s3://boot-images/deleted/{id}/deleted_manifest.json", (string?)deleted!["link"]!["path"]);
        Assert.NotNull(deleted["deleted"]);
        Assert.Null(await server.Artifacts.HeadAsync("boot-images", $"{id}/rootfs0"));
        Assert.NotNull(await server.Artifacts.HeadAsync("boot-images", $"deleted/{id}/rootfs0"));
        Assert.NotNull(await server.Artifacts.HeadAsync("boot-images", $"deleted/{id}/manifest.json"));

        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/deleted/images/{id}", """{"operation":"undelete"}""");
        Assert.Equal(204, status);
        var (_, after, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{id}");
        foreach (var field in new[] { "id", "created", "arch", "name" })
        {
            Assert.Equal((string?)before![field], (string?)after![field]);
        }
        Assert.Equal("v", (string?)after!["metadata"]!["k"]);
        Assert.Equal(manifest, (string?)after["link"]!["path"]);
        Assert.NotNull(await server.Artifacts.HeadAsync("boot-images", $"{id}/rootfs0"));
        Assert.Null(await server.Artifacts.HeadAsync("boot-images", $"deleted/{id}/deleted_manifest.json"));
        var (_, deletedList, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/deleted/images");
        Assert.Empty(deletedList!.AsArray());
    }

    [Fact]
    public async Task PurgeRemovesTheDeletedRecordAndEveryArtifact()
    {
        var id = (string)(await server.CreateImageAsync())["id"]!;
        var manifest = await server.UploadImageFilesAsync(id);
        await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", ImsTestServer.LinkBody(manifest));
        await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/images/{id}");
        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/deleted/images/{id}");
        Assert.Equal(204, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/images/{id}");
        Assert.Equal(404, status);
        Assert.Empty(await server.Artifacts.ListObjectsAsync("boot-images").ToListAsync());
    }

    [Theory]
    [InlineData("/apis/ims/v2", "", false)]
    [InlineData("/apis/ims", "?cascade=true", false)]
    [InlineData("/apis/ims/v2", "?cascade=false", true)]
    public async Task HardDeleteRemovesTheRecordAndWithCascadeTheArtifacts(string prefix, string query, bool artifactsRemain)
    {
        var id = (string)(await server.CreateImageAsync())["id"]!;
        var manifest = await server.UploadImageFilesAsync(id);
        await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{id}", ImsTestServer.LinkBody(manifest));
        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, $"{prefix}/images/{id}{query}");
        Assert.Equal(204, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{id}");
        Assert.Equal(404, status);
        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/deleted/images");
        Assert.Empty(deleted!.AsArray());
        Assert.Equal(artifactsRemain, (await server.Artifacts.ListObjectsAsync("boot-images").ToListAsync()).Count > 0);
    }

    [Fact]
    public async Task DeleteAllAndUndeleteAll()
    {
        await server.CreateImageAsync("a");
        await server.CreateImageAsync("b");
        await server.SendAsync(HttpMethod.Delete, "/apis/ims/v3/images");
        await AssertNoImagesAsync();
        var (_, deleted, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/deleted/images");
        Assert.Equal(2, deleted!.AsArray().Count);
        var (status, _, _) = await server.SendAsync(HttpMethod.Patch, "/apis/ims/v3/deleted/images", """{"operation":"undelete"}""");
        Assert.Equal(204, status);
        var (_, images, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/images");
        Assert.Equal(2, images!.AsArray().Count);
    }

    [Theory]
    [InlineData("""{"operation":"purge"}""", 422)]
    [InlineData("""{"op":"undelete"}""", 422)]
    [InlineData("{}", 400)]
    public async Task DeletedPatchAcceptsOnlyUndelete(string body, int expected)
    {
        var id = (string)(await server.CreateImageAsync())["id"]!;
        await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/images/{id}");
        var (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/deleted/images/{id}", body);
        Assert.Equal(expected, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/images/{id}");
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task DeletedCollectionsExistOnlyUnderV3()
    {
        var (status, _, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v2/deleted/images");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task WrongMethodIs405AndUnknownUrlIs404AsProblems()
    {
        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Put, "/apis/ims/v3/images");
        Assert.Equal(405, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal("The method is not allowed for the requested URL.", (string?)problem!["detail"]);
        (status, _, contentType) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/nothing-here");
        Assert.Equal(404, status);
        Assert.Equal("application/problem+json", contentType);
    }

    [Fact]
    public async Task HealthAndVersion()
    {
        var (status, body, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/healthz/ready");
        Assert.Equal(200, status);
        Assert.Empty(body!.AsObject());
        (status, body, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/version");
        Assert.Equal(200, status);
        Assert.False(string.IsNullOrEmpty((string?)body!["version"]));
    }

    private async Task AssertNoImagesAsync()
    {
        var (_, images, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/images");
        Assert.Empty(images!.AsArray());
    }

    [Fact]
    public async Task ImagesSharingPathsInTurnNeverOverwriteEachOthersFiles()
    {
        var first = (string)(await server.CreateImageAsync("first"))["id"]!;
        var manifest = await server.UploadImageFilesAsync("shared");
        Assert.Equal(200, (await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{first}", ImsTestServer.LinkBody(manifest))).Status);
        Assert.Equal(204, (await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/images/{first}")).Status);

        // The paths are free again: a second image is registered on them with files of its own.
        var second = (string)(await server.CreateImageAsync("second"))["id"]!;
        await server.UploadImageFilesAsync("shared");
        await server.PutObjectAsync("shared/kernel", "the second image's kernel");
        Assert.Equal(200, (await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{second}", ImsTestServer.LinkBody(manifest))).Status);

        var (status, problem, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/deleted/images/{first}", """{"operation":"undelete"}""");
        Assert.Equal(422, status);
        Assert.Contains("exists again", (string?)problem!["detail"]);
        (status, problem, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/v3/images/{second}");
        Assert.Equal(422, status);
        Assert.Contains("another image's file is there", (string?)problem!["detail"]);

        Assert.Equal(200, (await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{second}")).Status);
        Assert.Equal(200, (await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/deleted/images/{first}")).Status);
        await using var kernel = await server.Artifacts.OpenReadAsync("boot-images", "shared/kernel");
        Assert.Equal("the second image's kernel", await new StreamReader(kernel!.Stream).ReadToEndAsync());
        Assert.NotNull(await server.Artifacts.HeadAsync("boot-images", "deleted/shared/kernel"));
    }
}
