using Cray.Server;

var (exitCode, start) = await ServerCommandLine.ParseAsync(args, Environment.GetEnvironmentVariable, Console.Out, Console.Error);
if (start is null)
{
    return exitCode;
}

var builder = WebApplication.CreateBuilder(start.HostArguments);
builder.Configuration.AddInMemoryCollection(start.Settings);
ServerOptions options;
try
{
    options = ServerOptions.FromConfiguration(builder.Configuration);
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine($"cray-server: {exception.Message}");
    return 2;
}
if (ServerCommandLine.StartProblem(options) is { } problem)
{
    Console.Error.WriteLine($"cray-server: {problem}");
    return 2;
}

WebApplication app;
try
{
    app = builder.AddCrayServer(options).Build().UseCrayServer(options);
}
catch (Exception exception) when (exception is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or InvalidOperationException)
{
    // The record store is opened at start: one line saying which store and why, not a trace.
    Console.Error.WriteLine($"cray-server: cannot open the record store ({options.Store.Description}): {exception.Message}");
    return 1;
}
catch (Cray.Artifacts.ArtifactException exception)
{
    Console.Error.WriteLine($"cray-server: cannot open the artifact repository ({options.Artifacts.Description}): {exception.Message}");
    return 1;
}
if (options.HasRole(ServerOptions.ImsWorkerRole)
    && await Cray.Ims.RemoteBuildNodes.WorkerHeartbeat.NamesakeProblemAsync(app.Services.GetRequiredService<Cray.Platform.Storage.IRecordStore>(),
        options.ImsWorker.Leases.WorkerName, DateTimeOffset.UtcNow, CancellationToken.None) is { } namesake)
{
    Console.Error.WriteLine($"cray-server: {namesake}");
    return 1;
}
app.Logger.LogInformation("cray-server listening on {Url} with data in {DataDirectory}, records in {Store}, artifacts in {Artifacts}; roles: {Roles}",
    options.ListenUrl, options.DataDirectory, options.Store.Description, options.Artifacts.Description, string.Join(", ", options.Roles.Order()));
await app.RunAsync();
return 0;

/// <summary>Visible to the in-process API tests.</summary>
public partial class Program;
