using Cray.Server;

if (args is ["tokens", ..])
{
    return await TokenCommands.RunAsync(args[1..]);
}
if (ServerCommandLine.HelpOrUnknownFlag(args) is { } exitCode)
{
    return exitCode;
}

var builder = WebApplication.CreateBuilder(args);
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

var app = builder.AddCrayServer(options).Build().UseCrayServer(options);
app.Logger.LogInformation("cray-server listening on {Url} with data in {DataDirectory}; roles: {Roles}",
    options.ListenUrl, options.DataDirectory, string.Join(", ", options.Roles.Order()));
await app.RunAsync();
return 0;

/// <summary>Visible to the in-process API tests.</summary>
public partial class Program;
