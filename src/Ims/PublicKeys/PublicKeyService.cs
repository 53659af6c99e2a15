using System.Text.Json.Nodes;
using Cray.Ims.Model;
using Cray.Ims.Validation;
using Cray.Platform;
using Cray.Platform.Storage;

namespace Cray.Ims.PublicKeys;

/// <summary>SSH public keys that jobs authorise; v3 deletes them softly, v2 and the root hard (which is what CFS uses).</summary>
public sealed class PublicKeyService(IRecordStore store, TimeProvider clock)
    : SoftDeletableRecords<PublicKey, DeletedPublicKey>(store, ImsCollections.PublicKeys, ImsCollections.DeletedPublicKeys)
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

    public async Task<PublicKey> CreateAsync(string name, string key, CancellationToken cancellationToken)
    {
        var record = new PublicKey(Timestamps.Format(clock.GetUtcNow()), Guid.NewGuid().ToString(), name, key);
        await Store.WriteAsync(RecordWrite.Insert(ImsCollections.PublicKeys, record.Id, record), cancellationToken);
        return record;
    }

    protected override Task SoftDeleteLockedAsync(PublicKey key, CancellationToken cancellationToken)
        => Store.WriteAsync(
            [
                RecordWrite.Delete(ImsCollections.PublicKeys, key.Id),
                RecordWrite.Insert(ImsCollections.DeletedPublicKeys, key.Id, key.ToDeleted(Timestamps.Format(clock.GetUtcNow()))),
            ],
            cancellationToken);

    protected override Task HardDeleteLockedAsync(PublicKey key, bool cascade, CancellationToken cancellationToken)
        => Store.WriteAsync(RecordWrite.Delete(ImsCollections.PublicKeys, key.Id), cancellationToken);

    protected override Task HardDeleteAllLockedAsync(IReadOnlyList<PublicKey> records, bool cascade, CancellationToken cancellationToken)
        => Store.WriteAsync(records.Select(key => RecordWrite.Delete(ImsCollections.PublicKeys, key.Id)).ToList(), cancellationToken);

    protected override Task UndeleteLockedAsync(DeletedPublicKey deleted, CancellationToken cancellationToken)
        => Store.WriteAsync(
            [
                RecordWrite.Delete(ImsCollections.DeletedPublicKeys, deleted.Id),
                RecordWrite.Insert(ImsCollections.PublicKeys, deleted.Id, deleted.ToPublicKey()),
            ],
            cancellationToken);

    protected override Task PurgeLockedAsync(DeletedPublicKey deleted, CancellationToken cancellationToken)
        => Store.WriteAsync(RecordWrite.Delete(ImsCollections.DeletedPublicKeys, deleted.Id), cancellationToken);

    protected override Task PurgeAllLockedAsync(IReadOnlyList<DeletedPublicKey> deleted, CancellationToken cancellationToken)
        => Store.WriteAsync(deleted.Select(key => RecordWrite.Delete(ImsCollections.DeletedPublicKeys, key.Id)).ToList(), cancellationToken);
}
