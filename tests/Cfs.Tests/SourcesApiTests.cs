using Cray.Cfs.Configurations;
using Cray.Cfs.Sources;
using Cray.Processes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs.Tests;

public sealed class SourcesApiTests : IDisposable
{
    private readonly CfsTestServer server = new();

    public void Dispose() => server.Dispose();

    private string CreateBody(string? name = null)
    {
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["clone_url"] = $"file://{server.Repository}",
            ["credentials"] = new System.Text.Json.Nodes.JsonObject { ["username"] = "vcs-user", ["password"] = "the-secret-password" },
        };
        if (name is not null)
        {
            body["name"] = name;
        }
        return body.ToJsonString();
    }

    [Fact]
    public async Task CreateDescribeUpdateAndDeleteWithoutEverShowingOrStoringTheSecret()
    {
        await server.CommitAsync("site.yml", "- hosts: all\n");
        var (status, source) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources", CreateBody());
        Assert.Equal(201, status);
        var name = $"file://{server.Repository}";
        Assert.Equal(name, (string?)source!["name"]);
        Assert.Equal("password", (string?)source["credentials"]!["authentication_method"]);
        Assert.StartsWith("cfs-source-credentials-", (string?)source["credentials"]!["secret_name"]);
        Assert.DoesNotContain("the-secret-password", source.ToJsonString());

        // The name holds slashes: the client encodes it twice, the server decodes it once more.
        var encoded = Uri.EscapeDataString(Uri.EscapeDataString(name));
        var (found, described) = await server.SendAsync(HttpMethod.Get, $"/apis/cfs/v3/sources/{encoded}");
        Assert.Equal(200, found);
        Assert.Equal(name, (string?)described!["name"]);

        var (updated, changed) = await server.SendAsync(HttpMethod.Patch, $"/apis/cfs/v3/sources/{encoded}",
            """{"description":"VCS","credentials":{"username":"other","password":"another-secret"}}""");
        Assert.Equal(200, updated);
        Assert.Equal("VCS", (string?)changed!["description"]);
        var (invalid, problem) = await server.SendAsync(HttpMethod.Patch, $"/apis/cfs/v3/sources/{encoded}", """{"credentials":{"username":"only-user"}}""");
        Assert.Equal(400, invalid);
        Assert.Equal("Invalid credentials", (string?)problem!["title"]);

        using (var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "cray.db")}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM records WHERE body LIKE '%secret%password%' OR body LIKE '%another-secret%'";
            Assert.Equal(0L, command.ExecuteScalar());
        }
        Assert.Equal(204, (await server.SendAsync(HttpMethod.Delete, $"/apis/cfs/v3/sources/{encoded}")).Status);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Get, $"/apis/cfs/v3/sources/{encoded}")).Status);
    }

    [Fact]
    public async Task ASourceLayerResolvesItsBranchAndKeepsTheSourceInUse()
    {
        var commit = await server.CommitAsync("site.yml", "- hosts: all\n");
        await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources", CreateBody("vcs"));
        var (status, configuration) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/c1",
            """{"layers":[{"source":"vcs","branch":"main","playbook":"site.yml"}]}""");
        Assert.Equal(200, status);
        Assert.Equal(commit, (string?)configuration!["layers"]![0]!["commit"]);

        var (inUse, problem) = await server.SendAsync(HttpMethod.Delete, "/apis/cfs/v3/sources/vcs");
        Assert.Equal(400, inUse);
        Assert.Equal("Source is in use", (string?)problem!["title"]);
        var (_, used) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sources?in_use=true");
        Assert.Single(used!["sources"]!.AsArray());

        // The component's status counts the layer by the source's URL.
        await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/components/x1", """{"desired_config":"c1"}""");
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/components/x1",
            $$$"""{"state_append":{"clone_url":"file://{{{server.Repository}}}","playbook":"site.yml","commit":"{{{commit}}}"}}""");
        var (_, component) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/components/x1");
        Assert.Equal("configured", (string?)component!["configuration_status"]);

        var (missing, missingProblem) = await server.SendAsync(HttpMethod.Put, "/apis/cfs/v3/configurations/c2", """{"layers":[{"source":"nope","playbook":"site.yml"}]}""");
        Assert.Equal(400, missing);
        Assert.Equal("The source nope does not exist.", (string?)missingProblem!["detail"]);
    }

    [Fact]
    public async Task ASourceIsRestoredAroundItsExistingSecret()
    {
        // The records are lost but the secret is not: the restored source finds its credentials again.
        var (status, created) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources", CreateBody("lost"));
        Assert.Equal(201, status);
        var secretName = (string)created!["credentials"]!["secret_name"]!;
        var body = $$$"""{"clone_url":"file://{{{server.Repository}}}","credentials":{"authentication_method":"password","secret_name":"{{{secretName}}}"}}""";
        (status, var problem) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources/lost", body);
        Assert.Equal(409, status);
        Assert.Equal("Conflicting source name", (string?)problem!["title"]);

        (status, var restored) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources/restored", body);
        Assert.Equal(201, status);
        Assert.Equal("restored", (string?)restored!["name"]);
        Assert.Equal(secretName, (string?)restored["credentials"]!["secret_name"]);
        Assert.Equal("password", (string?)restored["credentials"]!["authentication_method"]);
        var sources = server.Services.GetRequiredService<SourceService>();
        var credentials = await sources.CredentialsAsync((await sources.GetAsync("restored", CancellationToken.None)), CancellationToken.None);
        Assert.Equal("vcs-user", credentials!.Username);

        // The body is the reference's restore body: a secret's name, never a password.
        (status, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources/other",
            $$$"""{"clone_url":"file://{{{server.Repository}}}","credentials":{"username":"u","password":"p"}}""");
        Assert.Equal(400, status);
        (status, _) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sources/other");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task DuplicatesAndBadBodiesAreRefused()
    {
        Assert.Equal(201, (await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources", CreateBody("vcs"))).Status);
        var (duplicate, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources", CreateBody("vcs"));
        Assert.Equal(409, duplicate);
        var (noCredentials, _) = await server.SendAsync(HttpMethod.Post, "/apis/cfs/v3/sources", """{"clone_url":"https://example.com/x.git"}""");
        Assert.Equal(400, noCredentials);
        var (v2, _) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/sources");
        Assert.Equal(404, v2);
    }

    [Fact]
    public async Task TheAskpassHelperAnswersGitsPromptsFromTheEnvironment()
    {
        var environment = GitCredentials.Environment(new SourceCredentials("vcs-user", "p@ss word"));
        var helper = environment["GIT_ASKPASS"]!;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserExecute, File.GetUnixFileMode(helper));
        var user = await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest(helper, ["Username for 'https://example.com': "]) { Environment = environment });
        var password = await ProcessRunner.Instance.RunCheckedAsync(new ProcessRequest(helper, ["Password for 'https://vcs-user@example.com': "]) { Environment = environment });
        Assert.Equal("vcs-user", user.Output.Trim());
        Assert.Equal("p@ss word", password.Output.Trim());
        Assert.DoesNotContain("p@ss", File.ReadAllText(helper));
        Assert.Equal("/bin/false", GitCredentials.Environment(null)["GIT_ASKPASS"]);
    }
}
