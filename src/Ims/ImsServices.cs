using Cray.Ims.Images;
using Cray.Ims.PublicKeys;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Ims;

public static class ImsServices
{
    public static IServiceCollection AddIms(this IServiceCollection services)
    {
        services.AddSingleton<ImageService>();
        services.AddSingleton<PublicKeyService>();
        return services;
    }
}
