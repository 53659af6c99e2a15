using Cray.Ims.Model;
using Cray.Ims.Recipes;
using Cray.Platform.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cray.Ims.Api;

public static class RecipesApi
{
    public static RouteGroupBuilder MapRecipesApi(this RouteGroupBuilder group, ImsRouteFamily family)
    {
        group.MapGet("/recipes", async (RecipeService recipes, CancellationToken cancellationToken)
            => ImsApi.Json(await recipes.ListAsync(cancellationToken)))
            .Produces<IReadOnlyList<Recipe>>();

        group.MapPost("/recipes", async (HttpRequest request, RecipeService recipes, CancellationToken cancellationToken) =>
        {
            var create = RecipeRequests.ParseCreate(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await recipes.CreateAsync(create, cancellationToken), StatusCodes.Status201Created);
        }).Produces<Recipe>(StatusCodes.Status201Created);

        group.MapGet("/recipes/{id}", async (string id, RecipeService recipes, CancellationToken cancellationToken)
            => ImsApi.Json(await recipes.GetAsync(id, cancellationToken)))
            .Produces<Recipe>();

        group.MapPatch("/recipes/{id}", async (string id, HttpRequest request, RecipeService recipes, CancellationToken cancellationToken) =>
        {
            // The record must exist before the body is judged, as in the reference (404 before 400).
            await recipes.GetAsync(id, cancellationToken);
            var patch = RecipeRequests.ParsePatch(await JsonBodies.ReadObjectAsync(request, ImsApi.BodyStyle, cancellationToken));
            return ImsApi.Json(await recipes.PatchAsync(id, patch, cancellationToken));
        }).Produces<Recipe>();

        return group.MapRecordDeletionApi<RecipeService>("recipes", family);
    }
}
