using System.CommandLine;
using System.Text;
using Cray.Cli.Common;
using Cray.Cli.Output;
using Spectre.Console;

namespace Cray.Cli.Bootprep;

/// <summary>
/// <c>cray bootprep run|validate|list-vars|view-schema|generate-example</c>: the System Admin
/// Toolkit's <c>sat bootprep</c>, reading the same input files, on this system's CFS and IMS.
/// </summary>
public static class BootprepCommands
{
    public static Command Build()
        => Leaf.Group("bootprep", "Create CFS configurations and IMS images from one input file (sat bootprep's input format)",
            Run(), Validate(), ListVariables(), ViewSchema(), GenerateExample());

    /// <summary>The variable options of run, validate and list-vars.</summary>
    private sealed record VariableOptions(Option<string[]> Assignments, Option<string> File)
    {
        public static VariableOptions Create() => new(
            new Option<string[]>("--vars")
            {
                Description = "A variable for the file's templates: NAME=VALUE, NAME may be dotted (product.version=1.2.3); repeatable, over --vars-file",
                HelpName = "NAME=VALUE",
                AllowMultipleArgumentsPerToken = false,
            },
            new Option<string>("--vars-file") { Description = "A YAML file of variables for the file's templates", HelpName = "FILE" });

        public BootprepVariables Read(CliContext context)
            => BootprepVariables.From(context.Value(File), context.ParseResult.GetValue(Assignments) ?? []);
    }

    private static Command Run()
    {
        var file = new Argument<string>("INPUT_FILE");
        var variables = VariableOptions.Create();
        var dryRun = new Option<bool>("--dry-run") { Description = "Check the file and print what would be created, skipped and overwritten, in order; change nothing" };
        var limit = new Option<string[]>("--limit")
        {
            Description = "Only these sections (repeatable): configurations, images, session_templates",
            HelpName = "SECTION",
        };
        limit.AcceptOnlyFromAmong("configurations", "images", "session_templates");
        var overwriteAll = new Option<bool>("--overwrite-all") { Description = "Overwrite every item that exists" };
        var skipAll = new Option<bool>("--skip-existing-all") { Description = "Skip every item that exists" };
        var overwriteConfigurations = new Option<bool>("--overwrite-configs") { Description = "Overwrite configurations that exist" };
        var skipConfigurations = new Option<bool>("--skip-existing-configs") { Description = "Skip configurations that exist" };
        var overwriteImages = new Option<bool>("--overwrite-images") { Description = "Make images that exist again; the old ones are deleted once the new one is made" };
        var skipImages = new Option<bool>("--skip-existing-images") { Description = "Skip images that exist (images based on them use them)" };
        var noResolveBranches = new Option<bool>("--no-resolve-branches") { Description = "Keep layer branches in the configurations (CFS follows them) instead of resolving them to commits" };
        var publicKeyId = new Option<string>("--public-key-id") { Description = "IMS public key for image builds from recipes", HelpName = "ID" };
        var publicKeyFile = new Option<string>("--public-key-file-path")
        {
            Description = "Public key file for image builds from recipes (default ~/.ssh/id_rsa.pub); an IMS key with the same text is reused",
            HelpName = "FILE",
        };
        var deleteJobs = new Option<bool>("--delete-ims-jobs") { Description = "Delete successful IMS create jobs (their records are the images' history)" };
        var debugOnFailure = new Option<bool>("--debug-on-failure") { Description = "Keep a failed CFS session's environment up for debugging" };
        var saveFiles = new Option<string>("--save-files", "-o") { Description = "Write each CFS and IMS request body into this directory", HelpName = "DIR" };
        var timeout = new Option<string>("--timeout")
        {
            Description = "Give up on one IMS job or CFS session after this long, deleting it (default 4h)",
            HelpName = "DURATION",
            DefaultValueFactory = _ => "4h",
        };
        var format = ReportFormat();
        return Leaf.CreateWithOwnOutput("run", "Create the file's configurations and images (exit 1 if any item failed, after the report)", async (context, token) =>
        {
            var sections = (context.ParseResult.GetValue(limit) ?? []) is { Length: > 0 } limits
                ? limits.Aggregate(BootprepSections.None, (all, section) => all | section switch
                {
                    "configurations" => BootprepSections.Configurations,
                    "images" => BootprepSections.Images,
                    _ => BootprepSections.SessionTemplates,
                })
                : BootprepSections.All;
            var everything = context.Value(overwriteAll);
            var skipEverything = context.Value(skipAll);
            var policy = new ExistingPolicy(
                everything || context.Value(overwriteConfigurations), skipEverything || context.Value(skipConfigurations),
                everything || context.Value(overwriteImages), skipEverything || context.Value(skipImages));
            if ((policy.OverwriteConfigurations && policy.SkipExistingConfigurations) || (policy.OverwriteImages && policy.SkipExistingImages))
            {
                throw new CliException("Give overwrite or skip for a kind of item, not both.", showUsage: true);
            }
            var stepTimeout = DurationText.Parse(context.Value(timeout), "--timeout")!.Value;
            if (stepTimeout <= TimeSpan.Zero)
            {
                throw new CliException("Invalid value for '--timeout': it must be longer than 0s.", showUsage: true);
            }
            var (document, input, renderer) = ReadInput(context, context.ParseResult.GetValue(file)!, variables);
            var server = new BootprepServer(context.Api);
            var configurationNames = input.Configurations.Select(item => item.Name)
                .Concat(input.Images.Select(item => item.Configuration).OfType<string>())
                .Concat(input.SessionTemplates.Select(item => item.Configuration).OfType<string>());
            var inventory = await server.InventoryAsync(configurationNames, token);
            var plan = Checked(() => new BootprepPlanner(document, input, inventory, sections, policy, renderer, AskWhatToDo).Plan());

            var needsKey = plan.ImagesToMake.Any(step => step.BaseKind == BaseKind.Recipe);
            if (context.ParseResult.GetValue(dryRun))
            {
                // As in the reference, a dry run stops before the key; it says what a real run would lack.
                if (needsKey)
                {
                    try
                    {
                        await CheckPublicKeyAsync(server, context.Value(publicKeyId), context.Value(publicKeyFile), token);
                    }
                    catch (CliException exception)
                    {
                        context.Log($"Warning: a real run would stop here: {exception.Message}");
                    }
                }
                CliHost.Current.Out.Write(BootprepPlanText.Describe(plan));
                return 0;
            }
            var keyText = needsKey ? await CheckPublicKeyAsync(server, context.Value(publicKeyId), context.Value(publicKeyFile), token) : null;
            if (context.Value(saveFiles) is { } saveDirectory)
            {
                try
                {
                    Directory.CreateDirectory(saveDirectory);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    throw new CliException($"Invalid value for '--save-files': cannot make {saveDirectory}: {exception.Message}", exitCode: 2, showUsage: true);
                }
            }
            var keyId = needsKey ? context.Value(publicKeyId) ?? await PublicKeyIdAsync(context, server, keyText!, token) : null;
            var options = new BootprepRunOptions(!context.Value(noResolveBranches), keyId, context.Value(deleteJobs), context.Value(debugOnFailure),
                context.Value(saveFiles), stepTimeout, TimeSpan.FromSeconds(2));
            BootprepRunner? runner = null;
            BootprepReport report;
            try
            {
                report = await BootprepProgress.RunAsync(context, progress => (runner = new BootprepRunner(server, progress, options)).RunAsync(plan, token));
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested && runner is not null)
            {
                // The server goes on with what was started; say what that is and how to stop it.
                foreach (var work in runner.Running)
                {
                    CliHost.Current.Error.WriteLine($"Still running: {work}");
                }
                throw;
            }
            CliHost.Current.Out.Write(report.Render(context.Value(format)!));
            foreach (var failure in report.Failures)
            {
                CliHost.Current.Error.WriteLine($"Failed: {failure}");
            }
            return report.Failures.Count > 0 ? 1 : 0;
        }, file, variables.Assignments, variables.File, dryRun, limit, overwriteAll, skipAll, overwriteConfigurations, skipConfigurations,
            overwriteImages, skipImages, noResolveBranches, publicKeyId, publicKeyFile, deleteJobs, debugOnFailure, saveFiles, timeout, format);
    }

    private static Option<string> ReportFormat()
    {
        var format = new Option<string>("--format")
        {
            Description = "Report format: pretty, json or yaml",
            HelpName = "FORMAT",
            DefaultValueFactory = _ => BootprepReport.Pretty,
        };
        format.AcceptOnlyFromAmong(BootprepReport.Formats);
        return format;
    }

    /// <summary>Reads, checks and renders the file; prints its warnings.</summary>
    private static (YamlDocument Document, BootprepInput Input, TemplateRenderer Renderer) ReadInput(CliContext context, string path, VariableOptions variables)
    {
        var renderer = new TemplateRenderer(variables.Read(context).Model());
        var document = YamlDocument.Load(path);
        var input = Checked(() => BootprepInputReader.Read(document, renderer));
        foreach (var warning in input.Warnings)
        {
            context.Log($"Warning: {warning}");
        }
        return (document, input, renderer);
    }

    private static T Checked<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (BootprepInputException exception)
        {
            throw new CliException(exception.Message, exitCode: 1);
        }
    }

    /// <summary>On a terminal, the reference asks; elsewhere nothing can answer, so the run stops before it creates anything.</summary>
    private static ExistingAction AskWhatToDo(string question)
    {
        if (CliHost.Current.InputIsRedirected)
        {
            return ExistingAction.Abort;
        }
        CliHost.Current.Error.Write($"{question}. Skip, overwrite or abort? [s/o/a]: ");
        return CliHost.Current.In.ReadLine()?.Trim().ToLowerInvariant() switch
        {
            "s" or "skip" => ExistingAction.Skip,
            "o" or "overwrite" => ExistingAction.Overwrite,
            _ => ExistingAction.Abort,
        };
    }

    /// <summary>The text of the key to use, checked before anything is created (null when an id is given and exists).</summary>
    private static async Task<string?> CheckPublicKeyAsync(BootprepServer server, string? id, string? path, CancellationToken token)
    {
        if (id is not null)
        {
            return await server.PublicKeyExistsAsync(id, token)
                ? null
                : throw new CliException($"Invalid value for '--public-key-id': IMS has no public key {id}.", exitCode: 1);
        }
        path ??= Path.Combine(CliHost.Current.Variable("HOME") ?? "/root", ".ssh", "id_rsa.pub");
        try
        {
            var text = (await File.ReadAllTextAsync(path, token)).Trim();
            return text.Length > 0 ? text : throw new CliException($"{path} is empty; images built from recipes need a public key (--public-key-file-path or --public-key-id).", exitCode: 1);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Images built from recipes need a public key: cannot read {path} ({exception.Message}); give --public-key-file-path or --public-key-id.", exitCode: 1);
        }
    }

    private static async Task<string> PublicKeyIdAsync(CliContext context, BootprepServer server, string text, CancellationToken token)
    {
        var same = (await server.PublicKeysAsync(token)).FirstOrDefault(key => key.Text.Trim() == text);
        if (same.Id is { Length: > 0 })
        {
            return same.Id;
        }
        var name = $"{Environment.UserName} public key";
        var id = await server.CreatePublicKeyAsync(name, text, token);
        context.Log($"Created the IMS public key '{name}' ({id}).");
        return id;
    }

    private static Command Validate()
    {
        var file = new Argument<string>("INPUT_FILE");
        var variables = VariableOptions.Create();
        return Leaf.CreateWithOwnOutput("validate", "Check the file against the schema and render its templates; asks the server nothing", (context, _) =>
        {
            var path = context.ParseResult.GetValue(file)!;
            var (document, input, renderer) = ReadInput(context, path, variables);
            Checked(() =>
            {
                BootprepPlanner.CheckOffline(document, input, renderer);
                return 0;
            });
            CliHost.Current.Out.WriteLine($"{path} is valid: {Count(input.Configurations.Count, "configuration")}, {Count(input.Images.Count, "image")}, " +
                $"{Count(input.SessionTemplates.Count, "session template")}.");
            return Task.FromResult(0);
        }, file, variables.Assignments, variables.File);
    }

    private static string Count(int count, string noun) => $"{count} {noun}{(count == 1 ? "" : "s")}";

    private static Command ListVariables()
    {
        var variables = VariableOptions.Create();
        var format = ReportFormat();
        return Leaf.CreateWithOwnOutput("list-vars", "List the variables the templates can use: name, value and where it came from", (context, _) =>
        {
            var rows = variables.Read(context).List();
            var chosen = context.Value(format)!;
            if (chosen != BootprepReport.Pretty)
            {
                var list = new System.Text.Json.Nodes.JsonArray([.. rows.Select(row => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
                {
                    ["name"] = row.Name,
                    ["value"] = row.Value,
                    ["source"] = row.Source,
                })]);
                CliHost.Current.Out.Write(OutputFormats.Render(list, chosen));
                return Task.FromResult(0);
            }
            if (rows.Count == 0)
            {
                CliHost.Current.Out.WriteLine("No variables: give --vars NAME=VALUE or --vars-file FILE.");
                return Task.FromResult(0);
            }
            var table = new Table().Border(TableBorder.Ascii).AddColumn("Variable").AddColumn("Value").AddColumn("Source");
            foreach (var row in rows)
            {
                table.AddRow(Markup.Escape(row.Name), Markup.Escape(row.Value), Markup.Escape(row.Source));
            }
            PlainConsole.Create(CliHost.Current.Out).Write(table);
            return Task.FromResult(0);
        }, variables.Assignments, variables.File, format);
    }

    private static Command ViewSchema()
        => Leaf.CreateWithOwnOutput("view-schema", $"Print the input file's JSON Schema (version {BootprepSchema.Version.ToString(3)})", (_, _) =>
        {
            CliHost.Current.Out.WriteLine(BootprepSchema.Text.TrimEnd());
            return Task.FromResult(0);
        });

    private static Command GenerateExample()
    {
        var outputDirectory = new Option<string>("--output-dir")
        {
            Description = "Where to write bootprep-example.yaml (default: the current directory)",
            HelpName = "DIR",
            DefaultValueFactory = _ => ".",
        };
        return Leaf.CreateWithOwnOutput("generate-example", "Write an example input file, naming the server's recipes and images where it has some", async (context, token) =>
        {
            var path = Path.Combine(context.Value(outputDirectory)!, "bootprep-example.yaml");
            if (File.Exists(path))
            {
                throw new CliException($"{path} exists; move it away or give --output-dir.", exitCode: 1);
            }
            var server = new BootprepServer(context.Api);
            var inventory = await server.InventoryAsync([], token);
            await File.WriteAllTextAsync(path, BootprepExample.Text(inventory), new UTF8Encoding(false), token);
            CliHost.Current.Out.WriteLine($"Wrote {path}; check it with: cray bootprep validate {path}");
            return 0;
        }, outputDirectory);
    }
}
