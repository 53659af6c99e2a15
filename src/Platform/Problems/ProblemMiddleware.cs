using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Cray.Platform.Problems;

/// <summary>
/// Turns <see cref="ProblemException"/> into problem+json, gives unknown URLs and wrong methods the
/// reference's 404/405 bodies, and makes sure no other failure reaches a client as a bare 500.
/// </summary>
public static class ProblemMiddleware
{
    public const string NotFoundDetail = "Requested resource does not exist. Re-run request with valid ID.";
    public const string MethodNotAllowedDetail = "The method is not allowed for the requested URL.";

    public static IApplicationBuilder UseProblemResponses(this IApplicationBuilder app)
    {
        return app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (ProblemException problem) when (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await ProblemResponses.WriteAsync(context, problem.Status, problem.Detail, problem.Errors, problem.Title, problem.Type);
                return;
            }
            catch (BadHttpRequestException badRequest) when (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await ProblemResponses.WriteAsync(context, badRequest.StatusCode, badRequest.Message);
                return;
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (!context.Response.HasStarted && StorageFull.Cause(exception) is { } full)
            {
                // The write went to temporary files or a transaction, both undone: nothing of it was kept, and the next write that fits succeeds.
                context.Response.Clear();
                await ProblemResponses.WriteAsync(context, StatusCodes.Status507InsufficientStorage,
                    $"The server's storage is full: {context.Request.Method} {context.Request.Path} could not be written ({full.Message}). "
                    + "Nothing of this request was kept; free space on the server and try again.");
                return;
            }
            catch (Exception exception) when (!context.Response.HasStarted)
            {
                var logger = context.RequestServices.GetService(typeof(ILoggerFactory)) is ILoggerFactory factory
                    ? factory.CreateLogger("Cray.Platform.Problems")
                    : null;
                logger?.LogError(exception, "Unhandled error for {Method} {Path}", context.Request.Method, context.Request.Path);
                context.Response.Clear();
                await ProblemResponses.WriteAsync(context, StatusCodes.Status500InternalServerError,
                    "An internal error occurred; the server log has the details.");
                return;
            }

            if (context.Response.HasStarted || context.Response.ContentLength > 0 || context.Response.ContentType is not null)
            {
                return;
            }
            if (context.Response.StatusCode == StatusCodes.Status404NotFound)
            {
                await ProblemResponses.WriteAsync(context, StatusCodes.Status404NotFound, NotFoundDetail);
            }
            else if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed)
            {
                await ProblemResponses.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, MethodNotAllowedDetail);
            }
        });
    }
}
