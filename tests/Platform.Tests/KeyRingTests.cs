using Cray.Platform.KeyRing;
using Cray.Platform.Storage;
using Cray.Tests.Support;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace Cray.Platform.Tests;

/// <summary>
/// The Data Protection key ring in the record store, sealed with the operator's secret: every server
/// on the store reads what another protected; the store alone, or another secret, reveals nothing.
/// </summary>
public sealed class KeyRingTests(PostgresTestServer postgres) : IClassFixture<PostgresTestServer>, IAsyncLifetime, IDisposable
{
    private const string Secret = "a-secret-of-more-than-thirty-two-characters";
    private readonly string directory = Directory.CreateTempSubdirectory("key-ring-test-").FullName;
    private readonly List<ServiceProvider> servers = [];
    private string connectionString = "";

    public async Task InitializeAsync() => connectionString = await postgres.CreateDatabaseAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        servers.ForEach(server => server.Dispose());
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>What one server builds: its own connection to the shared store and Data Protection over it.</summary>
    private async Task<IDataProtector> ServerAsync(string secret = Secret)
    {
        var store = await PostgresRecordStore.OpenAsync(connectionString);
        var services = new ServiceCollection().AddSingleton<IRecordStore>(store).AddKeyRingInStore(KeyRingSecret.FromText(secret, "test")).BuildServiceProvider();
        servers.Add(services);
        return services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Cray.Cfs.Sources.Credentials");
    }

    private async Task<IReadOnlyList<string>> StoredBodiesAsync()
    {
        await using var store = await PostgresRecordStore.OpenAsync(connectionString);
        return (await store.ListAsync<RecordStoreXmlRepository.SealedElement>(RecordStoreXmlRepository.Collection)).Select(element => element.Sealed).ToList();
    }

    [Fact]
    public async Task WhatOneServerProtectsAnotherOnTheSameStoreAndSecretReads()
    {
        var first = await ServerAsync();
        var secret = first.Protect("""{"username":"admin","password":"hunter2"}""");
        var second = await ServerAsync();
        Assert.Equal("""{"username":"admin","password":"hunter2"}""", second.Unprotect(secret));
        // One key ring, made once: the second server found the first's key rather than making its own.
        var sealedKeys = await StoredBodiesAsync();
        Assert.Single(sealedKeys);
        Assert.DoesNotContain("masterKey", sealedKeys[0]);
        Assert.DoesNotContain("<key", System.Text.Encoding.Latin1.GetString(Convert.FromBase64String(sealedKeys[0])));
    }

    [Fact]
    public async Task AnotherSecretDoesNotOpenTheKeyRingAndSaysWhichSecretItTried()
    {
        (await ServerAsync()).Protect("x");
        await using var store = await PostgresRecordStore.OpenAsync(connectionString);
        var repository = new RecordStoreXmlRepository(store, KeyRingSecret.FromText("another-secret-of-more-than-thirty-two", "--key-ring-secret-file /etc/other"));
        var problem = await Assert.ThrowsAsync<InvalidOperationException>(() => repository.ReadAllAsync(CancellationToken.None));
        Assert.StartsWith("the key ring in the record store does not open with the key-ring secret from --key-ring-secret-file /etc/other (key key-", problem.Message);
    }

    /// <summary>What an older server protected with a key ring it kept as files in <paramref name="keys"/>.</summary>
    private static string ProtectAsAnOlderServer(string keys, string plain)
    {
        using var older = new ServiceCollection().AddDataProtection().SetApplicationName("cray-server").PersistKeysToFileSystem(new DirectoryInfo(keys)).Services.BuildServiceProvider();
        return older.GetRequiredService<IDataProtectionProvider>().CreateProtector("Cray.Cfs.Sources.Credentials").Protect(plain);
    }

    [Fact]
    public async Task KeysOlderServersKeptAsFilesMoveIntoTheStoreAndStillOpenWhatTheyProtected()
    {
        // Two servers upgraded onto one store, each with a key ring of its own on its disk.
        var firstKeys = Path.Combine(directory, "first", "keys");
        var secondKeys = Path.Combine(directory, "second", "keys");
        var first = ProtectAsAnOlderServer(firstKeys, "first credentials");
        var second = ProtectAsAnOlderServer(secondKeys, "second credentials");

        var firstKeyFile = Assert.Single(Directory.GetFiles(firstKeys, "*.xml"));
        var copy = File.ReadAllText(firstKeyFile);

        await using var store = await PostgresRecordStore.OpenAsync(connectionString);
        var repository = new RecordStoreXmlRepository(store, KeyRingSecret.FromText(Secret, "test"));
        Assert.Equal(1, await repository.ImportFromDirectoryAsync(firstKeys, CancellationToken.None));
        Assert.Equal(1, await repository.ImportFromDirectoryAsync(secondKeys, CancellationToken.None));
        Assert.False(Directory.Exists(firstKeys));
        var protector = await ServerAsync();
        Assert.Equal("first credentials", protector.Unprotect(first));
        Assert.Equal("second credentials", protector.Unprotect(second));
        // A key the store has already is not imported again (its file is still removed).
        Directory.CreateDirectory(firstKeys);
        File.WriteAllText(firstKeyFile, copy);
        Assert.Equal(0, await repository.ImportFromDirectoryAsync(firstKeys, CancellationToken.None));
        Assert.False(File.Exists(firstKeyFile));
    }

    [Fact]
    public void TheSecretComesFromTheFileThenTheEnvironmentAndIsRequiredOnASharedStore()
    {
        var file = Path.Combine(directory, "secret");
        File.WriteAllText(file, Secret + "\n");
        Assert.Equal($"--key-ring-secret-file {file}", KeyRingSecret.FromFlagOrEnvironment(file, _ => "ignored-because-the-file-wins-over-it", true)!.Origin);
        Assert.Equal("CRAY_KEY_RING_SECRET", KeyRingSecret.FromFlagOrEnvironment(null, name => name == "CRAY_KEY_RING_SECRET" ? Secret : null, true)!.Origin);
        Assert.Null(KeyRingSecret.FromFlagOrEnvironment(null, _ => null, storeIsShared: false));
        var shared = Assert.Throws<ArgumentException>(() => KeyRingSecret.FromFlagOrEnvironment(null, _ => null, storeIsShared: true));
        Assert.StartsWith("--key-ring-secret-file: servers sharing a PostgreSQL store need the same key-ring secret", shared.Message);
        File.WriteAllText(file, "short\n");
        Assert.Contains("must be at least 32 characters", Assert.Throws<ArgumentException>(() => KeyRingSecret.FromFlagOrEnvironment(file, _ => null, false)).Message);
    }

    [Fact]
    public void AServerWithAStoreOfItsOwnKeepsOneSecretInItsDataDirectoryReadableOnlyByItself()
    {
        var first = KeyRingSecret.InDataDirectory(directory);
        var path = Path.Combine(directory, "key-ring.secret");
        Assert.Equal(path, first.Origin);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var text = File.ReadAllText(path);
        KeyRingSecret.InDataDirectory(directory);
        Assert.Equal(text, File.ReadAllText(path));
    }
}
