using Cray.Cli.Artifacts;

namespace Cray.Cli.Tests;

public sealed class ArtifactOwnershipTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private const string Id = "0b8d5c2e-8c0a-4d6e-9a55-1f0f5e7b2d11";

    private static StoredObject Old(string bucket, string key) => new(bucket, key, 1, Now.AddDays(-1));

    [Fact]
    public void AnImageWhoseManifestCannotBeReadKeepsEverythingUnderItsId()
    {
        var objects = new[] { Old("boot-images", $"{Id}/manifest.json"), Old("boot-images", $"{Id}/rootfs") };
        var unreadable = new OwningRecord(RecordKind.Image, Id, $"s3://boot-images/{Id}/manifest.json", ManifestPaths: null);
        Assert.Empty(ArtifactOwnership.Judge(objects, [unreadable], Now, TimeSpan.FromHours(1)).Unowned);

        var readable = unreadable with { ManifestPaths = [] };
        var stray = Assert.Single(ArtifactOwnership.Judge(objects, [readable], Now, TimeSpan.FromHours(1)).Unowned);
        Assert.Equal($"{Id}/rootfs", stray.Key);
    }

    [Fact]
    public void OnlyKeysInImsLayoutAreJudged()
    {
        var objects = new[]
        {
            Old("boot-images", "site/readme"), Old("boot-images", $"deleted/{Id}/rootfs"), Old("ims", $"recipes/{Id}/recipe.tar.gz"),
            Old("ims", $"{Id}/rootfs"), Old("other", $"{Id}/rootfs"),
        };
        var report = ArtifactOwnership.Judge(objects, [], Now, TimeSpan.Zero);
        Assert.Equal([$"deleted/{Id}/rootfs", $"recipes/{Id}/recipe.tar.gz"], report.Unowned.Select(stored => stored.Key));
        Assert.Equal(3, report.OutsideImsLayout);
    }
}
