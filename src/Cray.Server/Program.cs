using Cray.Artifacts;
using Cray.Artifacts.Api;
using Cray.Cfs;
using Cray.Cfs.Api;
using Cray.Ims;
using Cray.Ims.Api;
using Cray.Platform.Authentication;
using Cray.Platform.Json;
using Cray.Platform.Problems;
using Cray.Platform.Storage;
using Cray.Processes;
using Cray.Server;

if (args is ["tokens", ..])
{
    return await TokenCommands.RunAsync(args[1..]);
}

var knownFlags = ServerOptions.Flags.Select(flag => flag.Flag).Concat(ServerOptions.HostFlags).ToHashSet();
for (var index = 0; index < args.Length; index++)
{
    var argument = args[index].Split('=')[0];
    if (argument is "-h" or "--help")
    {
        Console.WriteLine("Usage: cray-server [OPTIONS]\n       cray-server tokens create NAME | list | delete NAME [--data-dir DIR]\n");
        foreach (var (flag, help) in ServerOptions.Flags)
        {
            Console.WriteLine($"  {flag,-26} {help}");
        }
        return 0;
    }
    if (!knownFlags.Contains(argument))
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

if (!Environment.IsPrivilegedProcess && options.HasRole(ServerOptions.ImsWorkerRole))
{
    Console.Error.WriteLine("cray-server: the ims-worker role runs sshd jails, mounts and unsquashfs as root; run cray-server as root or leave the role out (--roles api).");
    return 2;
}
if (DataDirectoryAccess.Problem(options.DataDirectory) is { } dataDirectoryProblem)
{
    Console.Error.WriteLine($"cray-server: {dataDirectoryProblem}");
    return 2;
}
var missingTools = RequiredTools.Missing(options.Roles);
if (missingTools.Count > 0)
{
    Console.Error.WriteLine("cray-server: missing programs:\n  " + string.Join("\n  ", missingTools));
    return 2;
}

builder.WebHost.UseUrls(options.ListenUrl);
if (options.TlsCertificate is { } certificate)
{
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate));
}
// Request-by-request framework logging is noise for an admin; the server's own lines stay.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
// The key ring sits in a root-only directory of the data dir; the "unencrypted at rest" warning says only that.
builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
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
builder.Services.AddSingleton<IProcessRunner>(ProcessRunner.Instance);
builder.Services.AddSingleton<AccessTokens>();
builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
{
    document.Info = new() { Title = "cray-server: CFS, IMS and artifacts", Version = ServerVersion.Text };
    return Task.CompletedTask;
}));
builder.Services.AddIms(options.ImsWorker);
builder.Services.AddCfs(Path.Combine(options.DataDirectory, "keys"), options.CfsRunner);
if (options.HasRole(ServerOptions.CfsRunnerRole))
{
    builder.Services.AddCfsRunner();
}
if (options.HasRole(ServerOptions.ImsWorkerRole))
{
    builder.Services.AddImsWorker();
}

var app = builder.Build();
// Open the store and the artifact repository now, so a bad data dir fails at start rather than on the first request.
app.Services.GetRequiredService<IRecordStore>();
app.Services.GetRequiredService<IArtifactStore>();

app.UseProblemResponses();
if (options.RequireTokens)
{
    var tokens = app.Services.GetRequiredService<AccessTokens>();
    if (options.InternalAccessToken is { } internalToken)
    {
        tokens.AddInternal(internalToken.Value);
    }
    app.UseBearerTokens(tokens);
}
app.UseServerMetrics();
// After authentication: a caller without a token learns nothing from the body's type.
app.UseJsonRequestBodies((ImsApi.BasePath, ImsApi.BodyStyle.ProblemType), (CfsApi.BasePath, CfsApi.BodyStyle.ProblemType));
app.MapGet("/healthz", () => Results.Json(new { status = "ok", roles = options.Roles.Order() }));
if (options.HasRole(ServerOptions.ApiRole))
{
    app.MapOpenApi("/openapi/{documentName}.json");
    app.MapImsApi();
    app.MapCfsApi();
    app.MapArtifactsApi();
}

app.Logger.LogInformation("cray-server listening on {Url} with data in {DataDirectory}; roles: {Roles}",
    options.ListenUrl, options.DataDirectory, string.Join(", ", options.Roles.Order()));
await app.RunAsync();
return 0;

/// <summary>Visible to the in-process API tests.</summary>
public partial class Program;
