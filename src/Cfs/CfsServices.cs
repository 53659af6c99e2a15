using Cray.Cfs.Components;
using Cray.Cfs.Configurations;
using Cray.Cfs.Options;
using Cray.Cfs.Runner;
using Cray.Cfs.Sessions;
using Cray.Cfs.Sources;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs;

public static class CfsServices
{
    /// <summary>The CFS API's services; source credentials are encrypted with Data Protection, whose key ring the host provides.</summary>
    public static IServiceCollection AddCfs(this IServiceCollection services, CfsRunnerOptions runnerOptions)
    {
        services.AddSingleton(runnerOptions);
        services.AddSingleton<SessionControl>();
        services.AddSingleton<SessionLogs>();
        services.AddSingleton<IBranchResolver, GitBranchResolver>();
        services.AddSingleton<SourceService>();
        services.AddSingleton<ConfigurationService>();
        services.AddSingleton<OptionsService>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<ComponentService>();
        services.AddSingleton<LayerCache.LayerCacheService>();
        return services;
    }

    /// <summary>The cfs-runner role: runs sessions, reaching IMS over HTTP.</summary>
    public static IServiceCollection AddCfsRunner(this IServiceCollection services)
    {
        services.AddHttpClient<ImsClient>((provider, client) =>
        {
            client.Timeout = TimeSpan.FromMinutes(2);
            if (provider.GetRequiredService<CfsRunnerOptions>().ImsAccessToken is { } token)
            {
                client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token.Value);
            }
        }).ConfigurePrimaryHttpMessageHandler(provider =>
        {
            var handler = new SocketsHttpHandler();
            if (provider.GetRequiredService<CfsRunnerOptions>().ImsCertificateThumbprint is { } thumbprint)
            {
                // Its own server's certificate is trusted by thumbprint, whatever its name or issuer.
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors)
                    => errors == System.Net.Security.SslPolicyErrors.None
                        || string.Equals((certificate as System.Security.Cryptography.X509Certificates.X509Certificate2)?.Thumbprint ?? certificate?.GetCertHashString(), thumbprint, StringComparison.OrdinalIgnoreCase);
            }
            return handler;
        });
        services.AddSingleton<GitMirror>();
        services.AddSingleton<ImageCustomization>();
        services.AddSingleton<SessionLayerCache>();
        services.AddSingleton<ImageProvenance>();
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<ComponentStateRecorder>();
        services.AddSingleton<SessionExecutor>();
        services.AddHostedService<SessionRunner>();
        services.AddSingleton<SessionTtlSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<SessionTtlSweeper>());
        return services;
    }
}
