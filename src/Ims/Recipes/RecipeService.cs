using Cray.Artifacts;
using Cray.Ims.Model;
using Cray.Ims.Validation;
using Cray.Platform;
using Cray.Platform.Storage;

namespace Cray.Ims.Recipes;

/// <summary>
/// Recipes: records in the store and, once linked, one archive in the artifact repository. Soft
/// delete (v3) moves the archive to <c>deleted/&lt;key&gt;</c> in its bucket and undelete moves it
/// back; purge and a cascading hard delete (v2 and the unversioned root) remove it.
/// </summary>
public sealed class RecipeService(IRecordStore store, IArtifactStore artifacts, TimeProvider clock)
    : SoftDeletableRecords<Recipe, DeletedRecipe>(store, ImsCollections.Recipes, ImsCollections.DeletedRecipes)
{

    public Task<Recipe> CreateAsync(RecipeCreate request, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () =>
        {
            if (request.Link is not null)
            {
                await ValidateNewLinkAsync(request.Link, exceptRecipeId: null, cancellationToken);
            }
            var recipe = new Recipe(request.Arch, Now(), Guid.NewGuid().ToString(), request.Link, request.LinuxDistribution, request.Name,
                request.RecipeType, request.RequireDkms, request.TemplateDictionary);
            await Store.WriteAsync(RecordWrite.Insert(ImsCollections.Recipes, recipe.Id, recipe), cancellationToken);
            return recipe;
        }, cancellationToken);

    public Task<Recipe> PatchAsync(string id, RecipePatch patch, CancellationToken cancellationToken)
        => ExclusivelyAsync(async () =>
        {
            var recipe = await GetAsync(id, cancellationToken);
            recipe = recipe with
            {
                Link = await ArtifactLinks.PatchedAsync(recipe.Link, patch.Link, link => ValidateNewLinkAsync(link, exceptRecipeId: id, cancellationToken)),
                Arch = patch.Arch ?? recipe.Arch,
                RequireDkms = patch.RequireDkms ?? recipe.RequireDkms,
                TemplateDictionary = patch.TemplateDictionary ?? recipe.TemplateDictionary,
            };
            await Store.WriteAsync(RecordWrite.Upsert(ImsCollections.Recipes, id, recipe), cancellationToken);
            return recipe;
        }, cancellationToken);

    /// <summary>The path is unique among recipes and the archive exists; its content is only read by create jobs.</summary>
    private async Task ValidateNewLinkAsync(ArtifactLink link, string? exceptRecipeId, CancellationToken cancellationToken)
    {
        var recipes = await ListAsync(cancellationToken);
        var holder = recipes.FirstOrDefault(recipe => recipe.Id != exceptRecipeId && recipe.Link is not null && recipe.Link.Path == link.Path);
        if (holder is not null)
        {
            throw ArtifactLinks.DuplicatePath("Recipe", holder.Id, link.Path);
        }
        await ArtifactLinks.RequireObjectAsync(artifacts, link, cancellationToken);
    }

    protected override async Task SoftDeleteLockedAsync(Recipe recipe, CancellationToken cancellationToken)
    {
        // An archive that is already gone is skipped and the link kept, as for images.
        var moved = await MoveArchiveAsync(recipe.Link, key => ArtifactLinks.DeletedPrefix + key, cancellationToken);
        await WriteOrMoveBackAsync(moved,
            [
                RecordWrite.Delete(ImsCollections.Recipes, recipe.Id),
                RecordWrite.Insert(ImsCollections.DeletedRecipes, recipe.Id, recipe.ToDeleted(Now(), moved?.Link ?? recipe.Link)),
            ],
            cancellationToken);
    }

    protected override async Task UndeleteLockedAsync(DeletedRecipe deleted, CancellationToken cancellationToken)
    {
        var originalPath = deleted.Link?.Path.Replace("/" + ArtifactLinks.DeletedPrefix, "/", StringComparison.Ordinal);
        if ((await ListAsync(cancellationToken)).FirstOrDefault(recipe => recipe.Link?.Path == originalPath) is { } holder)
        {
            throw ImsProblems.Unprocessable($"Recipe {deleted.Id} cannot be undeleted: recipe {holder.Id} now uses its link path {originalPath}.");
        }
        var moved = await MoveArchiveAsync(deleted.Link,
            key => key.StartsWith(ArtifactLinks.DeletedPrefix, StringComparison.Ordinal) ? key[ArtifactLinks.DeletedPrefix.Length..] : null, cancellationToken);
        await WriteOrMoveBackAsync(moved,
            [
                RecordWrite.Delete(ImsCollections.DeletedRecipes, deleted.Id),
                RecordWrite.Insert(ImsCollections.Recipes, deleted.Id, deleted.ToRecipe(moved?.Link ?? deleted.Link)),
            ],
            cancellationToken);
    }

    protected override async Task HardDeleteLockedAsync(Recipe recipe, bool cascade, CancellationToken cancellationToken)
    {
        await Store.WriteAsync(RecordWrite.Delete(ImsCollections.Recipes, recipe.Id), cancellationToken);
        if (cascade)
        {
            await DeleteArchiveAsync(recipe.Link, cancellationToken);
        }
    }

    protected override async Task PurgeLockedAsync(DeletedRecipe deleted, CancellationToken cancellationToken)
    {
        await Store.WriteAsync(RecordWrite.Delete(ImsCollections.DeletedRecipes, deleted.Id), cancellationToken);
        // Only an archive this recipe moved aside is its own: a link that was kept (the archive was
        // already gone at delete time) may name another recipe's archive by now.
        if (deleted.Link is not null && ArtifactPath.TryParse(deleted.Link.Path, out _, out var key) && key.StartsWith(ArtifactLinks.DeletedPrefix, StringComparison.Ordinal))
        {
            await DeleteArchiveAsync(deleted.Link, cancellationToken);
        }
    }

    private sealed record MovedArchive(string Bucket, string SourceKey, ArtifactObject Destination)
    {
        public ArtifactLink Link => ArtifactLink.S3(Destination.S3Path, Destination.ETag);
    }

    /// <summary>Moves the archive a link names within its bucket; null when there is no such archive or <paramref name="destinationKey"/> gives no key.</summary>
    private async Task<MovedArchive?> MoveArchiveAsync(ArtifactLink? link, Func<string, string?> destinationKey, CancellationToken cancellationToken)
    {
        if (link is null || !ArtifactPath.TryParse(link.Path, out var bucket, out var key) || destinationKey(key) is not { } destination)
        {
            return null;
        }
        try
        {
            return await artifacts.MoveAsync(bucket, key, destination, cancellationToken) is { } moved ? new MovedArchive(bucket, key, moved) : null;
        }
        catch (ArtifactConflictException)
        {
            // Two recipes may have used one path at different times; the store never moves onto the other's archive.
            throw ImsProblems.Unprocessable($"The archive s3://{bucket}/{key} cannot be moved to s3://{bucket}/{destination}: another recipe's archive is there.");
        }
        catch (Exception exception) when (exception is IOException or ArtifactException)
        {
            throw ImsProblems.Unprocessable($"The archive s3://{bucket}/{key} could not be moved to s3://{bucket}/{destination}: {exception.Message}");
        }
    }

    /// <summary>Applies the record writes; if they fail, the archive goes back where it was, so record and archive never disagree.</summary>
    private async Task WriteOrMoveBackAsync(MovedArchive? moved, IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken)
    {
        try
        {
            await Store.WriteAsync(writes, cancellationToken);
        }
        catch when (moved is not null)
        {
            await artifacts.MoveAsync(moved.Bucket, moved.Destination.Key, moved.SourceKey, CancellationToken.None);
            throw;
        }
    }

    private async Task DeleteArchiveAsync(ArtifactLink? link, CancellationToken cancellationToken)
    {
        if (link is not null && ArtifactPath.TryParse(link.Path, out var bucket, out var key))
        {
            await artifacts.DeleteAsync(bucket, key, cancellationToken);
        }
    }

    private string Now() => Timestamps.Format(clock.GetUtcNow());
}
