using Cray.Cfs.Components;
using Cray.Cfs.Configurations;
using Cray.Cfs.Options;
using Cray.Cfs.Sessions;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Cfs;

public static class CfsServices
{
    public static IServiceCollection AddCfs(this IServiceCollection services)
    {
        services.AddSingleton<IBranchResolver, GitBranchResolver>();
        services.AddSingleton<ConfigurationService>();
        services.AddSingleton<OptionsService>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<ComponentService>();
        return services;
    }
}
