using System.Text.Json.Nodes;
using Cray.Cfs.Model;
using Cray.Platform.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs.Tests;

public sealed class PagingTests : IDisposable
{
    private readonly CfsTestServer server = new();

    public void Dispose() => server.Dispose();

    /// <summary>Stores sessions directly: the API's create path is tested elsewhere, paging is what matters here.</summary>
    private async Task StoreSessionsAsync(int count)
    {
        var store = server.Services.GetRequiredService<IRecordStore>();
        var writes = Enumerable.Range(0, count).Select(index =>
        {
            var name = $"session-{index:D5}";
            var session = new SessionRecord(new SessionAnsible("cfs-default-ansible-cfg", "", "", 0), new SessionConfiguration("c", ""), false, name,
                new SessionStatus([], new SessionProgress(null, null, null, "2026-01-01T00:00:00", index % 2 == 0 ? "complete" : "pending", "none")),
                new Dictionary<string, string>(), new SessionTarget("dynamic", null, null));
            return RecordWrite.Insert(CfsCollections.Sessions, name, session);
        }).Reverse().ToList();
        await store.WriteAsync(writes);
    }

    [Fact]
    public async Task V3PagesThrough2500SessionsInNameOrderAndNextEchoesEveryParameter()
    {
        await StoreSessionsAsync(2500);
        var names = new List<string>();
        var query = "?limit=100";
        var pages = 0;
        while (true)
        {
            var (status, page) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions" + query);
            Assert.Equal(200, status);
            pages++;
            names.AddRange(page!["sessions"]!.AsArray().Select(session => (string)session!["name"]!));
            if (page["next"] is not JsonObject next)
            {
                break;
            }
            Assert.Equal(["status", "succeeded", "name_contains", "min_age", "max_age", "tags", "limit", "after_id"], next.Select(pair => pair.Key));
            Assert.Null(next["status"]);
            Assert.Equal(100, (int?)next["limit"]);
            Assert.Equal(names[^1], (string?)next["after_id"]);
            query = $"?limit=100&after_id={next["after_id"]}";
        }
        Assert.Equal(25, pages);
        Assert.Equal(Enumerable.Range(0, 2500).Select(index => $"session-{index:D5}"), names);
    }

    [Fact]
    public async Task FiltersApplyBeforeThePageIsCut()
    {
        await StoreSessionsAsync(30);
        var (_, page) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions?status=complete&limit=10");
        Assert.Equal(10, page!["sessions"]!.AsArray().Count);
        Assert.All(page["sessions"]!.AsArray(), session => Assert.Equal("complete", (string?)session!["status"]!["session"]!["status"]));
        Assert.Equal("complete", (string?)page["next"]!["status"]);
        var (_, last) = await server.SendAsync(HttpMethod.Get, $"/apis/cfs/v3/sessions?status=complete&limit=10&after_id={page["next"]!["after_id"]}");
        Assert.Equal(5, last!["sessions"]!.AsArray().Count);
        Assert.Null(last["next"]);
        var (_, exact) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions?limit=30");
        Assert.Null(exact!["next"]);
        var (bad, _) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions?limit=0");
        Assert.Equal(400, bad);
    }

    [Fact]
    public async Task V2AnswersTooLargeBeyondThePageSize()
    {
        await StoreSessionsAsync(30);
        await server.SendAsync(HttpMethod.Patch, "/apis/cfs/v3/options", """{"default_page_size":20}""");
        var (status, problem) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/sessions");
        Assert.Equal(400, status);
        Assert.Equal("The response size is too large", (string?)problem!["title"]);
        var (ok, list) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v2/sessions?status=complete");
        Assert.Equal(200, ok);
        Assert.Equal(15, list!.AsArray().Count);
        var (_, v3) = await server.SendAsync(HttpMethod.Get, "/apis/cfs/v3/sessions");
        Assert.Equal(20, v3!["sessions"]!.AsArray().Count);
    }
}
