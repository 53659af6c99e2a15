using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Cray.Platform.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs.Tests;

/// <summary>--auth token: every API request but the health check needs a valid bearer token.</summary>
public sealed class TokenAuthenticationTests : IDisposable
{
    private readonly CfsTestServer server = new() { Auth = "token" };

    public void Dispose() => server.Dispose();

    private async Task<HttpResponseMessage> GetAsync(string path, string? token)
    {
        var client = server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task RequestsWithoutAValidTokenGetA401ProblemAndValidOnesPass()
    {
        using (var anonymous = await GetAsync("/apis/cfs/v3/sessions", token: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.ToString());
            var problem = JsonNode.Parse(await anonymous.Content.ReadAsStringAsync())!;
            Assert.Equal("Unauthorized", (string?)problem["title"]);
            Assert.Contains("cray-server tokens create", (string?)problem["detail"]);
        }
        using (var health = await GetAsync("/healthz", token: null))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        var tokens = server.Services.GetRequiredService<AccessTokens>();
        var secret = await tokens.CreateAsync("admin", CancellationToken.None);
        Assert.StartsWith("cray_", secret);
        Assert.DoesNotContain(secret, (await tokens.ListAsync(CancellationToken.None)).Single().Sha256);
        using (var allowed = await GetAsync("/apis/cfs/v3/sessions", secret))
        {
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }
        using (var wrong = await GetAsync("/apis/ims/v3/images", secret + "x"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("not valid", await wrong.Content.ReadAsStringAsync());
        }

        Assert.True(await tokens.DeleteAsync("admin", CancellationToken.None));
        using var deleted = await GetAsync("/apis/cfs/v3/sessions", secret);
        Assert.Equal(HttpStatusCode.Unauthorized, deleted.StatusCode);
    }

    [Theory]
    [InlineData("PUT", "/apis/artifacts/healthz")]
    [InlineData("GET", "/apis/artifacts/boot-images/healthz/x")]
    [InlineData("PUT", "/apis/cfs/v3/configurations/healthz")]
    [InlineData("DELETE", "/apis/cfs/v3/components/healthz")]
    [InlineData("POST", "/apis/ims/v3/healthz/ready")]
    [InlineData("GET", "/metrics")]
    public async Task OnlyTheExactHealthChecksAreOpen(string method, string path)
    {
        var client = server.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        foreach (var open in new[] { "/healthz", "/apis/cfs/healthz", "/apis/ims/healthz/ready", "/apis/ims/v3/healthz/live" })
        {
            using var health = await client.GetAsync(open);
            Assert.True(health.IsSuccessStatusCode, open);
        }
    }

    [Fact]
    public void OptionsRecordsNeverPrintTheRunnersToken()
    {
        var secret = AccessTokens.NewSecret();
        var options = new Cray.Cfs.Runner.CfsRunnerOptions
        {
            ImsUrl = "http://127.0.0.1:1/apis/ims",
            SessionsDirectory = "/s",
            LogsDirectory = "/l",
            GitCacheDirectory = "/g",
            AnsibleConfigsDirectory = "/a",
            NodeKeyDirectory = "/n",
            ImsAccessToken = new AccessSecret(secret),
        };
        Assert.DoesNotContain(secret, options.ToString());
        Assert.Contains("ImsAccessToken = (secret)", options.ToString());
    }
}
