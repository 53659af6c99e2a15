using System.Text.Json.Nodes;
using Cray.Ims.Api;
using Cray.Ims.Model;
using Cray.Ims.Validation;
using Cray.Platform;
using Cray.Platform.Storage;

namespace Cray.Ims.PublicKeys;

/// <summary>SSH public keys that jobs authorise; v3 deletes them softly, v2 and the root hard (which is what CFS uses).</summary>
public sealed class PublicKeyService(IRecordStore store, TimeProvider clock) : IDeletedRecords<DeletedPublicKey>
{
    private static readonly string[] CreateFields = ["name", "public_key"];

    public static (string Name, string Key) ParseCreate(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        var errors = new FieldErrors();
        JsonFields.RejectUnknown(body, CreateFields, errors);
        var name = JsonFields.RequiredNonBlank(body, "name", errors);
        var key = JsonFields.RequiredNonBlank(body, "public_key", errors);
        if (key is not null && OpenSshPublicKey.Problem(key) is { } problem)
        {
            errors.Add("public_key", problem);
        }
        errors.ThrowIfAny();
        return (name!, key!);
    }

    public Task<IReadOnlyList<PublicKey>> ListAsync(CancellationToken cancellationToken)
        => store.ListAsync<PublicKey>(ImsCollections.PublicKeys, cancellationToken);

    public async Task<PublicKey> GetAsync(string id, CancellationToken cancellationToken)
        => await store.GetAsync<PublicKey>(ImsCollections.PublicKeys, id, cancellationToken) ?? throw ImsProblems.NotFound();

    public Task<IReadOnlyList<DeletedPublicKey>> ListDeletedAsync(CancellationToken cancellationToken)
        => store.ListAsync<DeletedPublicKey>(ImsCollections.DeletedPublicKeys, cancellationToken);

    public async Task<DeletedPublicKey> GetDeletedAsync(string id, CancellationToken cancellationToken)
        => await store.GetAsync<DeletedPublicKey>(ImsCollections.DeletedPublicKeys, id, cancellationToken) ?? throw ImsProblems.NotFound();

    public async Task<PublicKey> CreateAsync(string name, string key, CancellationToken cancellationToken)
    {
        var record = new PublicKey(Timestamps.Format(clock.GetUtcNow()), Guid.NewGuid().ToString(), name, key);
        await store.WriteAsync(RecordWrite.Insert(ImsCollections.PublicKeys, record.Id, record), cancellationToken);
        return record;
    }

    public async Task SoftDeleteAsync(string id, CancellationToken cancellationToken)
    {
        var key = await GetAsync(id, cancellationToken);
        await store.WriteAsync(
            [
                RecordWrite.Delete(ImsCollections.PublicKeys, id),
                RecordWrite.Insert(ImsCollections.DeletedPublicKeys, id, key.ToDeleted(Timestamps.Format(clock.GetUtcNow()))),
            ],
            cancellationToken);
    }

    public async Task SoftDeleteAllAsync(CancellationToken cancellationToken)
    {
        foreach (var key in await ListAsync(cancellationToken))
        {
            await SoftDeleteAsync(key.Id, cancellationToken);
        }
    }

    public async Task HardDeleteAsync(string id, CancellationToken cancellationToken)
    {
        await GetAsync(id, cancellationToken);
        await store.WriteAsync(RecordWrite.Delete(ImsCollections.PublicKeys, id), cancellationToken);
    }

    public async Task HardDeleteAllAsync(CancellationToken cancellationToken)
        => await store.WriteAsync((await ListAsync(cancellationToken)).Select(key => RecordWrite.Delete(ImsCollections.PublicKeys, key.Id)).ToList(), cancellationToken);

    public async Task UndeleteAsync(string id, CancellationToken cancellationToken)
    {
        var deleted = await GetDeletedAsync(id, cancellationToken);
        await store.WriteAsync(
            [
                RecordWrite.Delete(ImsCollections.DeletedPublicKeys, id),
                RecordWrite.Insert(ImsCollections.PublicKeys, id, deleted.ToPublicKey()),
            ],
            cancellationToken);
    }

    public async Task UndeleteAllAsync(CancellationToken cancellationToken)
    {
        foreach (var deleted in await ListDeletedAsync(cancellationToken))
        {
            await UndeleteAsync(deleted.Id, cancellationToken);
        }
    }

    public async Task PurgeAsync(string id, CancellationToken cancellationToken)
    {
        await GetDeletedAsync(id, cancellationToken);
        await store.WriteAsync(RecordWrite.Delete(ImsCollections.DeletedPublicKeys, id), cancellationToken);
    }

    public async Task PurgeAllAsync(CancellationToken cancellationToken)
        => await store.WriteAsync((await ListDeletedAsync(cancellationToken)).Select(key => RecordWrite.Delete(ImsCollections.DeletedPublicKeys, key.Id)).ToList(), cancellationToken);
}
