using Cray.Artifacts;
using Cray.Artifacts.Api;
using Cray.Ims;
using Cray.Ims.Api;
using Cray.Platform.Problems;
using Cray.Platform.Storage;
using Cray.Server;

// The last three are the generic host's own flags (the in-process test host passes them).
var knownFlags = new[] { "--listen", "--data-dir", "--roles", "--environment", "--contentRoot", "--applicationName" };
for (var index = 0; index < args.Length; index++)
{
    var flag = args[index].Split('=')[0];
    if (flag is "-h" or "--help")
    {
        Console.WriteLine($"""
            Usage: cray-server [--listen HOST:PORT] [--data-dir DIR] [--roles ROLES]

              --listen HOST:PORT  where the HTTP API listens (default {ServerOptions.DefaultListen}; loopback only)
              --data-dir DIR      the database and artifact repository (default {ServerOptions.DefaultDataDirectory})
              --roles ROLES       comma list of {string.Join(", ", ServerOptions.AllRoles)}, or all (default all)
            """);
        return 0;
    }
    if (!knownFlags.Contains(flag))
    {
        Console.Error.WriteLine($"cray-server: unknown argument '{args[index]}'. Try 'cray-server --help'.");
        return 2;
    }
    if (!args[index].Contains('='))
    {
        index++;
    }
}

var builder = WebApplication.CreateBuilder(args);
ServerOptions options;
try
{
    options = ServerOptions.FromConfiguration(builder.Configuration);
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine($"cray-server: {exception.Message}");
    return 2;
}

builder.WebHost.UseUrls(options.ListenUrl);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = Cray.Platform.Json.JsonBodies.MaximumBodyBytes);
builder.Services.AddSingleton(options);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<IRecordStore>(_ => new SqliteRecordStore(Path.Combine(options.DataDirectory, "cray.db")));
builder.Services.AddSingleton<IArtifactStore>(_ =>
{
    var store = new FileSystemArtifactStore(Path.Combine(options.DataDirectory, "artifacts"));
    foreach (var bucket in new[] { "boot-images", "ims" })
    {
        store.CreateBucket(bucket);
    }
    return store;
});
builder.Services.AddIms();

var app = builder.Build();
// Open the store and the artifact repository now, so a bad data dir fails at start rather than on the first request.
app.Services.GetRequiredService<IRecordStore>();
app.Services.GetRequiredService<IArtifactStore>();

app.UseProblemResponses();
if (options.HasRole("api"))
{
    app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
    app.MapImsApi();
    app.MapArtifactsApi();
}

app.Logger.LogInformation("cray-server listening on {Url} with data in {DataDirectory}; roles: {Roles}",
    options.ListenUrl, options.DataDirectory, string.Join(", ", options.Roles.Order()));
await app.RunAsync();
return 0;

/// <summary>Visible to the in-process API tests.</summary>
public partial class Program;
