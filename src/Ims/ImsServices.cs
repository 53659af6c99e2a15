using Cray.Ims.Images;
using Cray.Ims.Jobs;
using Cray.Ims.PublicKeys;
using Cray.Ims.Recipes;
using Cray.Ims.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Ims;

public static class ImsServices
{
    /// <summary>The buckets IMS keeps its objects in: images, and recipes and imports.</summary>
    public static readonly IReadOnlyList<string> Buckets = [Worker.JobRunner.BootImagesBucket, "ims"];

    /// <summary>The IMS API's services. The worker options are needed here too: job records name the SSH address.</summary>
    public static IServiceCollection AddIms(this IServiceCollection services, ImsWorkerOptions workerOptions)
    {
        services.AddSingleton(workerOptions);
        services.AddSingleton<ImageService>();
        services.AddSingleton<RecipeService>();
        services.AddSingleton<PublicKeyService>();
        services.AddSingleton<JobService>();
        services.AddSingleton<RemoteBuildNodes.RemoteBuildNodeService>();
        services.AddSingleton<JobControl>();
        services.AddSingleton<JobLogs>();
        return services;
    }

    /// <summary>The ims-worker role: claims customize and create jobs and runs them.</summary>
    public static IServiceCollection AddImsWorker(this IServiceCollection services)
    {
        services.AddImsJobRunner();
        services.AddHostedService<ImsWorker>();
        return services;
    }

    /// <summary>What runs one job, without the worker that claims them (tests drive it directly).</summary>
    public static IServiceCollection AddImsJobRunner(this IServiceCollection services)
    {
        services.AddSingleton<JobRunner>();
        services.AddSingleton<IImageRegistry, LocalImageRegistry>();
        services.AddSingleton<RecipeBuild>();
        services.AddSingleton<SourceCache>();
        services.AddHttpClient();
        return services;
    }
}
