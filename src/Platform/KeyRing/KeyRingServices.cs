using Cray.Platform.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cray.Platform.KeyRing;

public static class KeyRingServices
{
    /// <summary>Data Protection with its key ring in the record store, sealed with <paramref name="secret"/>.</summary>
    public static IServiceCollection AddKeyRingInStore(this IServiceCollection services, KeyRingSecret secret)
    {
        services.AddDataProtection().SetApplicationName("cray-server");
        services.AddSingleton(provider => new RecordStoreXmlRepository(provider.GetRequiredService<IRecordStore>(), secret));
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(provider =>
            new ConfigureOptions<KeyManagementOptions>(options => options.XmlRepository = provider.GetRequiredService<RecordStoreXmlRepository>()));
        return services;
    }
}
