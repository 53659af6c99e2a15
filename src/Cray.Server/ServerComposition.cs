using Cray.Artifacts;
using Cray.Artifacts.Api;
using Cray.Cfs;
using Cray.Cfs.Api;
using Cray.Ims;
using Cray.Ims.Api;
using Cray.Platform.Authentication;
using Cray.Platform.Json;
using Cray.Platform.KeyRing;
using Cray.Platform.Problems;
using Cray.Platform.Storage;
using Cray.Processes;

namespace Cray.Server;

/// <summary>The host's parts: web host and logging, stores, each role's services, and the request pipeline.</summary>
public static class ServerComposition
{
    private static readonly string[] Buckets = [.. Ims.ImsServices.Buckets, Cfs.LayerCache.LayerCacheService.Bucket];

    /// <summary>
    /// The server's own lines from --log-level; the framework's (request by request, HttpClient's four
    /// lines per call of the runner's IMS polls) only from warning, unless --log-level asks for detail.
    /// </summary>
    private static void AddLogging(ILoggingBuilder logging, ServerOptions options)
    {
        var frameworkLevel = options.LogLevel <= LogLevel.Debug ? options.LogLevel : (LogLevel)Math.Max((int)options.LogLevel, (int)LogLevel.Warning);
        logging.AddFilter((string?)null, options.LogLevel);
        foreach (var framework in new[] { "Microsoft", "System" })
        {
            logging.AddFilter(framework, frameworkLevel);
        }
        // The key ring sits in a root-only directory of the data dir; the "unencrypted at rest" warning says only that.
        logging.AddFilter("Microsoft.AspNetCore.DataProtection", options.LogLevel <= LogLevel.Debug ? options.LogLevel : LogLevel.Error);
        if (options.JsonLogs)
        {
            logging.ClearProviders();
            logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
    }

    public static WebApplicationBuilder AddCrayServer(this WebApplicationBuilder builder, ServerOptions options)
    {
        builder.WebHost.UseUrls(options.ListenUrl);
        if (options.TlsCertificate is { } certificate)
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate));
        }
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = JsonBodies.MaximumBodyBytes);
        AddLogging(builder.Logging, options);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        // Opened once at start (UseCrayServer asks for it), so a store that cannot be reached stops the start with its reason.
        services.AddSingleton(_ => options.Store.OpenAsync().GetAwaiter().GetResult());
        // Opened at start too: an S3 endpoint that cannot be reached or refuses the keys stops the start with its reason.
        services.AddSingleton(_ => options.Artifacts.OpenAsync(Buckets).GetAwaiter().GetResult());
        services.AddSingleton<IProcessRunner>(ProcessRunner.Instance);
        services.AddSingleton<AccessTokens>();
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new() { Title = "cray-server: CFS, IMS and artifacts", Version = ServerVersion.Text };
            return Task.CompletedTask;
        }));
        services.AddIms(options.ImsWorker);
        services.AddCfs(options.CfsRunner);
        if (options.ReadsSourceCredentials)
        {
            services.AddKeyRingInStore(options.KeyRingSecret ?? KeyRingSecret.InDataDirectory(options.DataDirectory));
        }
        else
        {
            // An IMS worker alone never reads source credentials, so it needs no key-ring secret.
            services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider, Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider>();
        }
        if (options.HasRole(ServerOptions.CfsRunnerRole))
        {
            services.AddCfsRunner();
        }
        if (options.HasRole(ServerOptions.ImsWorkerRole))
        {
            services.AddImsWorker();
        }
        return builder;
    }

    /// <summary>
    /// Moves an older server's key files into the store, then opens every key once: a secret that
    /// does not open the store's key ring stops the start rather than failing requests later.
    /// </summary>
    private static void OpenKeyRing(WebApplication app, ServerOptions options)
    {
        var keyRing = app.Services.GetRequiredService<RecordStoreXmlRepository>();
        var imported = keyRing.ImportFromDirectoryAsync(Path.Combine(options.DataDirectory, "keys"), CancellationToken.None).GetAwaiter().GetResult();
        if (imported > 0)
        {
            app.Logger.LogInformation("Moved {Count} Data Protection key(s) from {Directory} into the record store, sealed with the key-ring secret", imported, Path.Combine(options.DataDirectory, "keys"));
        }
        keyRing.ReadAllAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    public static WebApplication UseCrayServer(this WebApplication app, ServerOptions options)
    {
        // Open the store and the artifact repository now, so a bad data dir fails at start rather than on the first request.
        app.Services.GetRequiredService<IRecordStore>();
        app.Services.GetRequiredService<IArtifactStore>();
        if (options.ReadsSourceCredentials)
        {
            OpenKeyRing(app, options);
        }

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
        return app;
    }
}
