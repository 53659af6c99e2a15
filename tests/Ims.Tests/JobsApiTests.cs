using Microsoft.Extensions.DependencyInjection;

namespace Cray.Ims.Tests;

/// <summary>The jobs API's checks, in the reference's order, with no worker running (jobs stay "creating").</summary>
public sealed class JobsApiTests : IDisposable
{
    private readonly ImsTestServer server = new();

    public void Dispose() => server.Dispose();

    private async Task<(string ImageId, string KeyId)> ImageAndKeyAsync()
    {
        var imageId = (string)(await server.CreateImageAsync("source"))["id"]!;
        var manifest = await server.UploadImageFilesAsync(imageId);
        var (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{imageId}", ImsTestServer.LinkBody(manifest));
        Assert.Equal(200, status);
        var (_, key, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/public-keys", """{"name":"k","public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEZRIANJyilkCr1XGnalDzZZY+CviXR1C4FYmlxBUzX user@host"}""");
        return (imageId, (string)key!["id"]!);
    }

    private static string Body(string imageId, string keyId, string extra = "")
        => $$$"""{"job_type":"customize","artifact_id":"{{{imageId}}}","public_key_id":"{{{keyId}}}","image_root_archive_name":"result"{{{extra}}}}""";

    private async Task AssertNoJobsAsync()
    {
        var (_, jobs, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/jobs");
        Assert.Empty(jobs!.AsArray());
    }

    [Theory]
    [InlineData("/apis/ims/v3")]
    [InlineData("/apis/ims/v2")]
    [InlineData("/apis/ims")]
    public async Task CreatedJobCarriesAll24FieldsWithTheReferenceDefaults(string prefix)
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (status, job, _) = await server.SendAsync(HttpMethod.Post, $"{prefix}/jobs", Body(imageId, keyId));
        Assert.Equal(201, status);
        Assert.Equal(24, job!.AsObject().Count);
        Assert.Equal("creating", (string?)job["status"]);
        Assert.Null(job["resultant_image_id"]);
        Assert.Equal(60, (int?)job["build_env_size"]);
        Assert.Equal(8, (int?)job["job_mem_size"]);
        Assert.Equal("vmlinuz", (string?)job["kernel_file_name"]);
        Assert.Equal("initrd", (string?)job["initrd_file_name"]);
        Assert.Equal("kernel-parameters", (string?)job["kernel_parameters_file_name"]);
        Assert.Equal("x86_64", (string?)job["arch"]);
        Assert.False((bool)job["enable_debug"]!);
        var container = Assert.Single(job["ssh_containers"]!.AsArray())!;
        Assert.Equal("customize", (string?)container["name"]);
        Assert.False((bool)container["jail"]!);
        Assert.Equal("pending", (string?)container["status"]);
        Assert.EndsWith($"/ims/jobs/{job["id"]}/image-root", (string?)container["image_root"]);
        Assert.Equal(["cluster.local", "customer_access"], container["connection_info"]!.AsObject().Select(pair => pair.Key).Order());
        // An integer, as the reference's schema says, from creation on: 0 until the job's sshd listens.
        Assert.All(container["connection_info"]!.AsObject(), pair => Assert.Equal(0, pair.Value!["port"]!.GetValue<int>()));
        foreach (var field in new[] { "kubernetes_job", "kubernetes_service", "kubernetes_configmap", "kubernetes_pvc", "kubernetes_secret", "kubernetes_namespace" })
        {
            Assert.True(job.AsObject().ContainsKey(field), field);
        }
    }

    [Fact]
    public async Task ThePublicKeyIsCopiedSoDeletingItDoesNotAffectTheJob()
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (_, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/jobs", Body(imageId, keyId, ""","ssh_containers":[{"name":"cfs-session","jail":true}]"""));
        var (deleted, _, _) = await server.SendAsync(HttpMethod.Delete, $"/apis/ims/public-keys/{keyId}");
        Assert.Equal(204, deleted);
        var (status, described, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/jobs/{job!["id"]}");
        Assert.Equal(200, status);
        Assert.Equal(keyId, (string?)described!["public_key_id"]);
        Assert.True((bool)described["ssh_containers"]![0]!["jail"]!);
        Assert.Null(described["ssh_containers"]![0]!["image_root"]);
        Assert.Equal("cfs-session", (string?)described["ssh_containers"]![0]!["name"]);
    }

    [Theory]
    [InlineData("", 400, null, null)]
    [InlineData("{}", 400, null, null)]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","arch":"x86_64"}""", 422, "arch", "Unknown field.")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","status":"success"}""", 422, "status", "Unknown field.")]
    [InlineData("""{"artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r"}""", 422, "job_type", "Missing data for required field.")]
    [InlineData("""{"job_type":"rebuild","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r"}""", 422, "job_type", "Job type must be one of: create, customize.")]
    [InlineData("""{"job_type":"customize","artifact_id":"not-a-uuid","public_key_id":"{key}","image_root_archive_name":"r"}""", 422, "artifact_id", "Not a valid UUID.")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"nope","image_root_archive_name":"r"}""", 422, "public_key_id", "Not a valid UUID.")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":" "}""", 422, "image_root_archive_name", "image_root_archive_name field must not be blank")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","build_env_size":0}""", 422, "build_env_size", "build_env_size must be greater than or equal to 1")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","job_mem_size":0}""", 422, "job_mem_size", "build_env_size must be greater than or equal to 1")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","initrd_file_name":""}""", 422, "initrd_file_name", "initrd_file_name field must not be blank")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","kernel_file_name":"../../etc/shadow"}""", 422, "kernel_file_name", "kernel_file_name must be a file name in the image's /boot (a relative path without '.', '..' or empty segments).")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","kernel_file_name":"/etc/shadow"}""", 422, "kernel_file_name", "kernel_file_name must be a file name in the image's /boot (a relative path without '.', '..' or empty segments).")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","initrd_file_name":"x/../../../etc/shadow"}""", 422, "initrd_file_name", "initrd_file_name must be a file name in the image's /boot (a relative path without '.', '..' or empty segments).")]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","kernel_parameters_file_name":"a//b"}""", 422, "kernel_parameters_file_name", "kernel_parameters_file_name must be a file name in the image's /boot (a relative path without '.', '..' or empty segments).")]
    [InlineData("""{"job_type":"create","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r"}""", 400, null, null)]
    [InlineData("""{"job_type":"customize","artifact_id":"{image}","public_key_id":"{key}","image_root_archive_name":"r","ssh_containers":[{"name":"a"},{"name":"b"}]}""", 400, null, null)]
    public async Task InvalidRequestsGetTheReferenceStatusAndNoJobIsStored(string template, int expected, string? field, string? message)
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs",
            template.Replace("{image}", imageId).Replace("{key}", keyId));
        Assert.Equal(expected, status);
        Assert.Equal("application/problem+json", contentType);
        if (field is not null)
        {
            Assert.Equal(message, (string?)problem!["errors"]![field]![0]);
        }
        await AssertNoJobsAsync();
    }

    [Fact]
    public async Task UnknownImageOrKeyAndImagesWithoutFilesAreRefused()
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var missing = Guid.NewGuid().ToString();

        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(missing, keyId));
        Assert.Equal(400, status);
        Assert.Equal($"Invalid artifact_id value in job request. No IMS image record found matching id={missing}.", (string?)problem!["detail"]);

        (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, missing));
        Assert.Equal(400, status);
        Assert.Equal($"Invalid public_key_id value in job request. No IMS public-key record found matching id={missing}.", (string?)problem!["detail"]);

        var unlinked = (string)(await server.CreateImageAsync("no-files"))["id"]!;
        (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(unlinked, keyId));
        Assert.Equal(400, status);
        Assert.Equal($"The IMS image does not have an artifact_link for image_id={unlinked}.", (string?)problem!["detail"]);

        // The rootfs object went missing after the link was set.
        await server.Artifacts.DeleteAsync("boot-images", $"{imageId}/rootfs0");
        (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        Assert.Equal(422, status);
        Assert.Contains("cannot be validated", (string?)problem!["detail"]);

        // And the manifest too.
        await server.Artifacts.DeleteAsync("boot-images", $"{imageId}/manifest.json");
        (status, _, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        Assert.Equal(422, status);
        await AssertNoJobsAsync();
    }

    [Fact]
    public async Task PatchChangesOnlyStatusAndResultantImage()
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (_, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        var id = (string)job!["id"]!;
        var result = Guid.NewGuid().ToString();
        var (status, patched, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{id}", $$"""{"resultant_image_id":"{{result}}","status":"packaging_artifacts"}""");
        Assert.Equal(200, status);
        Assert.Equal(result, (string?)patched!["resultant_image_id"]);
        Assert.Equal("packaging_artifacts", (string?)patched["status"]);

        (status, var problem, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{id}", """{"status":"done"}""");
        Assert.Equal(422, status);
        Assert.StartsWith("Job state must be one of: creating,", (string?)problem!["errors"]!["status"]![0]);
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{id}", """{"image_root_archive_name":"x"}""");
        Assert.Equal(422, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{id}", """{"resultant_image_id":"x"}""");
        Assert.Equal(422, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{id}", "{}");
        Assert.Equal(400, status);
        (status, _, _) = await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{Guid.NewGuid()}", """{"status":"error"}""");
        Assert.Equal(404, status);
    }

    [Theory]
    [InlineData("?status=finished")]
    [InlineData("?job_type=build")]
    [InlineData("?age=yesterday")]
    [InlineData("?age=")]
    public async Task BulkDeleteRejectsBadFiltersAndDeletesNothing(string query)
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        var (status, _, contentType) = await server.SendAsync(HttpMethod.Delete, "/apis/ims/v3/jobs" + query);
        Assert.Equal(400, status);
        Assert.Equal("application/problem+json", contentType);
        var (_, jobs, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/jobs");
        Assert.Single(jobs!.AsArray());
    }

    [Fact]
    public async Task BulkDeleteAppliesEveryFilter()
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (_, first, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{first!["id"]}", """{"status":"error"}""");

        // Too young for the age filter: nothing goes.
        await server.SendAsync(HttpMethod.Delete, "/apis/ims/v3/jobs?status=error&age=1d");
        var (_, jobs, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/jobs");
        Assert.Equal(2, jobs!.AsArray().Count);

        var (status, _, _) = await server.SendAsync(HttpMethod.Delete, "/apis/ims/v3/jobs?status=error&status=success&job_type=customize");
        Assert.Equal(204, status);
        (_, jobs, _) = await server.SendAsync(HttpMethod.Get, "/apis/ims/v3/jobs");
        var remaining = Assert.Single(jobs!.AsArray());
        Assert.Equal("creating", (string?)remaining!["status"]);

        await server.SendAsync(HttpMethod.Delete, "/apis/ims/v3/jobs");
        await AssertNoJobsAsync();
    }

    [Fact]
    public async Task TheJobLogIsServedAsText()
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (_, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        using var client = server.CreateClient();
        var log = await client.GetStringAsync($"/apis/ims/v3/jobs/{job!["id"]}/log");
        Assert.Contains($"Job created: customize image {imageId}", log);
        var missing = await client.GetAsync($"/apis/ims/v3/jobs/{Guid.NewGuid()}/log");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("30m", 30 * 60)]
    [InlineData("6h", 6 * 3600)]
    [InlineData("1d", 86400)]
    [InlineData("2w", 14 * 86400)]
    [InlineData("1d12h", 36 * 3600)]
    public void AgesParseAsTheReferenceDocuments(string text, int seconds)
        => Assert.Equal(TimeSpan.FromSeconds(seconds), Jobs.JobRequests.ParseAge(text));

    [Fact]
    public void ARecordStoredWithANullPortReadsAsNotListening()
    {
        var endpoint = System.Text.Json.JsonSerializer.Deserialize<Cray.Ims.Jobs.SshEndpoint>("""{"host":"h","port":null}""")!;
        Assert.Equal(Cray.Ims.Jobs.SshEndpoint.NotListening, endpoint.Port);
        Assert.Equal("""{"host":"h","port":2222}""", System.Text.Json.JsonSerializer.Serialize(endpoint with { Port = 2222 }));
    }

    /// <summary>
    /// A server killed while a job packs its result: the job names the image it registered, so the
    /// restarted worker removes an unlinked one with its objects, or keeps a linked one as the job's result.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResultACrashInterruptedIsRemovedUnlessItWasLinked(bool linked)
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (_, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        var jobId = (string)job!["id"]!;
        var resultId = (string)(await server.CreateImageAsync("result"))["id"]!;
        var manifest = await server.UploadImageFilesAsync(resultId);
        if (linked)
        {
            Assert.Equal(200, (await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/images/{resultId}", ImsTestServer.LinkBody(manifest))).Item1);
        }
        var store = server.Services.GetRequiredService<Cray.Platform.Storage.IRecordStore>();
        var document = await store.UpdateAsync<Cray.Ims.Jobs.JobDocument>(Cray.Ims.Jobs.JobService.Collection, jobId,
            current => current with { Worker = "crashed", PendingImageId = resultId, Job = current.Job with { Status = "packaging_artifacts" } });
        var lines = new List<string>();

        // The API-only server has no job runner: one over the same data directory settles the result.
        using var worker = server.WithWebHostBuilder(builder => builder.ConfigureServices(services => services.AddImsJobRunner()));
        var settled = await worker.Services.GetRequiredService<Cray.Ims.Worker.JobRunner>().SettleInterruptedResultAsync(document!, lines.Add, CancellationToken.None);

        var (status, _, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{resultId}");
        var objects = (await server.Artifacts.ListObjectsAsync(Cray.Ims.Worker.JobRunner.BootImagesBucket, resultId + "/").ToListAsync());
        if (linked)
        {
            Assert.Equal(resultId, settled);
            Assert.Equal(200, status);
            Assert.NotEmpty(objects);
        }
        else
        {
            Assert.Null(settled);
            Assert.Equal(404, status);
            Assert.Empty(objects);
            Assert.Contains($"Removed the unfinished image {resultId}.", lines);
        }
        // The source image is untouched either way.
        Assert.Equal(200, (await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{imageId}")).Item1);
    }

    [Fact]
    public async Task AReadCanWaitForAStatusInsteadOfPolling()
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (_, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        var jobId = (string)job!["id"]!;

        // Nothing moves the job (no worker here): the wait ends with the job as it is.
        var (status, unchanged, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/jobs/{jobId}?wait=success,error&timeout=1");
        Assert.Equal(200, status);
        Assert.Equal("creating", (string?)unchanged!["status"]);

        // A change wakes the waiting read, which answers with the status it waited for.
        var waiting = server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/jobs/{jobId}?wait=packaging_artifacts&timeout=60");
        await Task.Delay(200);
        Assert.Equal(200, (await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{jobId}", """{"status":"packaging_artifacts"}""")).Item1);
        var (waitedStatus, waited, _) = await waiting;
        Assert.Equal(200, waitedStatus);
        Assert.Equal("packaging_artifacts", (string?)waited!["status"]);
    }

    [Theory]
    [InlineData("wait=done")]
    [InlineData("wait=")]
    [InlineData("wait=error&timeout=0")]
    [InlineData("wait=error&timeout=301")]
    [InlineData("wait=error&timeout=soon")]
    [InlineData("timeout=5")]
    public async Task AWaitThatMakesNoSenseIsA400(string query)
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (_, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId));
        var (status, problem, contentType) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/jobs/{job!["id"]}?{query}");
        Assert.Equal(400, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.False(string.IsNullOrEmpty((string?)problem!["detail"]));
    }

    [Fact]
    public async Task ALayerIsSealedOnlyWhileTheJobWaitsOnTheUser()
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var md5 = new string('a', 32);
        var (created, job, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs",
            Body(imageId, keyId, $$$""","base_layers":[{"path":"s3://boot-images/layers/one","md5":"{{{md5}}}"}]"""));
        Assert.Equal(201, created);
        var jobId = (string)job!["id"]!;
        var restoring = Assert.Single(job["layers"]!.AsArray())!;
        Assert.Equal("pending", (string?)restoring["status"]);
        Assert.Equal(1, (int?)restoring["index"]);

        // Still creating: nothing to seal, and nothing changes.
        var (refused, problem, contentType) = await server.SendAsync(HttpMethod.Post, $"/apis/ims/v3/jobs/{jobId}/layers", "{}");
        Assert.Equal(409, refused);
        Assert.Equal("application/problem+json", contentType);
        Assert.Contains("waiting_on_user", (string?)problem!["detail"], StringComparison.Ordinal);

        Assert.Equal(200, (await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{jobId}", """{"status":"waiting_on_user"}""")).Item1);
        var (badPath, pathProblem, _) = await server.SendAsync(HttpMethod.Post, $"/apis/ims/v3/jobs/{jobId}/layers", """{"store_path":"/tmp/layer"}""");
        Assert.Equal(422, badPath);
        Assert.NotNull(pathProblem!["errors"]?["store_path"]);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Post, $"/apis/ims/v3/jobs/{Guid.NewGuid()}/layers", "{}")).Item1);
        // Never among IMS's own objects (the source image's manifest, here), nor over any object that exists.
        var (_, image, _) = await server.SendAsync(HttpMethod.Get, $"/apis/ims/v3/images/{imageId}");
        var (ownBucket, ownBucketProblem, _) = await server.SendAsync(HttpMethod.Post, $"/apis/ims/v3/jobs/{jobId}/layers",
            $$"""{"store_path":"{{(string)image!["link"]!["path"]!}}"}""");
        Assert.Equal(422, ownBucket);
        Assert.Contains("IMS's own bucket", (string?)ownBucketProblem!["detail"], StringComparison.Ordinal);
        var artifacts = server.Artifacts;
        await artifacts.CreateBucketAsync("layers");
        using (var existing = new MemoryStream([1, 2, 3]))
        {
            await artifacts.PutAsync("layers", "taken", existing);
        }
        var (clobber, clobberProblem, _) = await server.SendAsync(HttpMethod.Post, $"/apis/ims/v3/jobs/{jobId}/layers", """{"store_path":"s3://layers/taken"}""");
        Assert.Equal(409, clobber);
        Assert.Contains("An object exists at", (string?)clobberProblem!["detail"], StringComparison.Ordinal);
        // Only a seal request says which layer to seal.
        Assert.Equal(422, (await server.SendAsync(HttpMethod.Patch, $"/apis/ims/v3/jobs/{jobId}", """{"status":"sealing_layer"}""")).Item1);

        var (accepted, sealing, _) = await server.SendAsync(HttpMethod.Post, $"/apis/ims/v3/jobs/{jobId}/layers", """{"store_path":"s3://layers/two"}""");
        Assert.Equal(202, accepted);
        Assert.Equal("sealing_layer", (string?)sealing!["status"]);
        var sealingLayer = sealing["layers"]!.AsArray()[^1]!;
        Assert.Equal(2, (int?)sealingLayer["index"]);
        Assert.Equal("sealing", (string?)sealingLayer["status"]);
        Assert.Equal("s3://layers/two", (string?)sealingLayer["path"]);
        // A second request before the worker served the fresh layer is refused.
        Assert.Equal(409, (await server.SendAsync(HttpMethod.Post, $"/apis/ims/v3/jobs/{jobId}/layers", "{}")).Item1);
    }

    [Theory]
    [InlineData(""","base_layers":{}""", "base_layers")]
    [InlineData(""","base_layers":[{"path":"s3://b/k"}]""", "base_layers")]
    [InlineData(""","base_layers":[{"path":"http://b/k","md5":"0123456789abcdef0123456789abcdef"}]""", "base_layers")]
    [InlineData(""","base_layers":[{"path":"s3://b/k","md5":"not-an-md5"}]""", "base_layers")]
    public async Task BaseLayersThatDoNotParseAreRefused(string extra, string field)
    {
        var (imageId, keyId) = await ImageAndKeyAsync();
        var (status, problem, _) = await server.SendAsync(HttpMethod.Post, "/apis/ims/v3/jobs", Body(imageId, keyId, extra));
        Assert.Equal(422, status);
        Assert.NotNull(problem!["errors"]?[field]);
        await AssertNoJobsAsync();
    }
}
