using Cray.Ims.Jobs;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Ims.Api;

/// <summary>Jobs: identical in every route family, as in the reference; plus the job log, which the reference leaves to kubectl.</summary>
public static class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this RouteGroupBuilder group)
    {
        group.MapGet("/jobs", async (JobService jobs, CancellationToken cancellationToken)
            => ImsApi.Json(await jobs.ListAsync(cancellationToken)))
            .Produces<IReadOnlyList<Job>>();

        group.MapPost("/jobs", async (HttpRequest request, JobService jobs, CancellationToken cancellationToken) =>
        {
            var create = JobRequests.ParseCreate(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await jobs.CreateAsync(create, cancellationToken), StatusCodes.Status201Created);
        }).Produces<Job>(StatusCodes.Status201Created);

        group.MapDelete("/jobs", async (HttpRequest request, JobService jobs, CancellationToken cancellationToken) =>
        {
            var filter = JobRequests.ParseDeleteFilter(
                request.Query["status"].OfType<string>().ToList(),
                request.Query["job_type"].OfType<string>().ToList(),
                request.Query["age"].FirstOrDefault());
            await jobs.DeleteManyAsync(filter, cancellationToken);
            return Results.NoContent();
        });

        group.MapGet("/jobs/{id}", async (string id, string? wait, string? timeout, JobService jobs, CancellationToken cancellationToken)
            => ImsApi.Json(JobRequests.ParseWait(wait, timeout) is { } until
                ? await jobs.WaitForStatusAsync(id, until.Statuses, until.Timeout, cancellationToken)
                : await jobs.GetAsync(id, cancellationToken)))
            .Produces<Job>();

        group.MapPatch("/jobs/{id}", async (string id, HttpRequest request, JobService jobs, CancellationToken cancellationToken) =>
        {
            await jobs.GetAsync(id, cancellationToken);
            var patch = JobRequests.ParsePatch(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await jobs.PatchAsync(id, patch, cancellationToken));
        }).Produces<Job>();

        // Ours: seal the jail's current layer and serve a fresh one (layered customize jobs, used by CFS's layer cache).
        group.MapPost("/jobs/{id}/layers", async (string id, HttpRequest request, JobService jobs, CancellationToken cancellationToken) =>
        {
            await jobs.GetAsync(id, cancellationToken);
            var seal = JobRequests.ParseLayerSeal(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await jobs.SealLayerAsync(id, seal, cancellationToken), StatusCodes.Status202Accepted);
        }).Produces<Job>(StatusCodes.Status202Accepted);

        group.MapDelete("/jobs/{id}", async (string id, JobService jobs, CancellationToken cancellationToken) =>
        {
            await jobs.DeleteAsync(id, cancellationToken);
            return Results.NoContent();
        });

        group.MapGet("/jobs/{id}/log", StreamLogAsync);
        return group;
    }

    /// <summary>The job's log as text; with <c>?follow=true</c> it streams until the job ends (or is deleted).</summary>
    private static async Task StreamLogAsync(string id, bool? follow, JobService jobs, JobLogs logs, HttpContext context)
    {
        await jobs.GetAsync(id, context.RequestAborted);
        await logs.StreamAsync(id, follow == true, async () =>
        {
            try
            {
                return JobStatuses.IsFinal((await jobs.GetDocumentAsync(id, context.RequestAborted)).Job.Status);
            }
            catch (Platform.Problems.ProblemException)
            {
                return true;
            }
        }, context);
    }
}
