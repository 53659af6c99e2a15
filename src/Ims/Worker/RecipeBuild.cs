using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Cray.Artifacts;
using Cray.Ims.Jobs;
using Cray.Ims.Model;
using Cray.Platform.Logs;
using Cray.Processes;

namespace Cray.Ims.Worker;

/// <summary>
/// The create job's own phases (the reference's fetch-recipe, wait-for-repos and build-image
/// containers): fetch and unpack the recipe archive, fill in its template dictionary, wait until
/// its package repositories answer, and build the image root with <c>kiwi-ng system prepare</c>.
/// Packaging is shared with customize jobs.
/// </summary>
public sealed partial class RecipeBuild(IArtifactStore artifacts, ImsWorkerOptions options, JobLogs logs, IProcessRunner runner, IHttpClientFactory httpClients, TimeProvider clock)
{
    public const string KiwiProgram = "kiwi-ng";

    private static readonly string[] DescriptionNames = ["config.xml", "config.kiwi"];

    /// <summary>Downloads the archive (checking its md5), unpacks it and renders its templates; returns the kiwi description directory.</summary>
    public async Task<string> FetchAsync(JobDocument document, JobWorkspace workspace, CancellationToken cancellationToken)
    {
        void Log(string line) => logs.Append(document.Job.Id, line);
        var recipe = document.Recipe ?? throw new JobFailedException("The job record has no recipe.");
        workspace.Create();
        if (!ArtifactPath.TryParse(recipe.ArchivePath, out var bucket, out var key))
        {
            throw new JobFailedException($"The recipe path {recipe.ArchivePath} is not an s3:// address.");
        }
        var archive = Path.Combine(workspace.Directory, "recipe.tar.gz");
        var md5 = await ArtifactFiles.CopyWithChecksumAsync(artifacts, bucket, key, recipe.ArchivePath, archive, cancellationToken);
        if (recipe.Md5.Length > 0 && !string.Equals(md5, recipe.Md5, StringComparison.OrdinalIgnoreCase))
        {
            throw new JobFailedException($"The recipe {recipe.ArchivePath} has md5 {md5}, not the {recipe.Md5} it was stored with.");
        }
        var directory = RecipeDirectory(workspace);
        Directory.CreateDirectory(directory);
        await CheckArchiveEntriesAsync(archive, recipe.ArchivePath, cancellationToken);
        var unpacked = await runner.RunAsync(new ProcessRequest("tar", ["-x", "-z", "--no-same-owner", "--no-same-permissions", "-f", archive, "-C", directory])
        {
            Timeout = TimeSpan.FromMinutes(10),
            OutputLine = Log,
        }, cancellationToken);
        if (!unpacked.Succeeded)
        {
            throw new JobFailedException($"tar could not unpack the recipe {recipe.ArchivePath} (exit code {unpacked.ExitCode}): {unpacked.Output.Trim()}");
        }
        File.Delete(archive);
        var description = FindDescription(directory)
            ?? throw new JobFailedException($"The recipe {recipe.ArchivePath} has no kiwi description ({string.Join(" or ", DescriptionNames)}) at its top or in its only directory.");
        var rendered = RenderTemplates(description, recipe.TemplateDictionary);
        Log($"Fetched {recipe.ArchivePath} (md5 {md5}); kiwi description in {Path.GetRelativePath(directory, description)}/"
            + (recipe.TemplateDictionary.Count == 0 ? "." : $"; the template dictionary ({recipe.TemplateDictionary.Count} keys) filled in {rendered} files."));
        return description;
    }

    public static string RecipeDirectory(JobWorkspace workspace) => Path.Combine(workspace.Directory, "recipe");

    /// <summary>
    /// The worker unpacks and then rewrites the recipe as root, so the archive may hold only files,
    /// directories and symbolic links that stay inside it: no device nodes, FIFOs or hard links, no
    /// absolute or ".." names, no link pointing out.
    /// </summary>
    public static async Task CheckArchiveEntriesAsync(string archive, string shownPath, CancellationToken cancellationToken)
    {
        try
        {
            await using var file = File.OpenRead(archive);
            await using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
            await using var reader = new System.Formats.Tar.TarReader(gzip);
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                var name = entry.Name.TrimStart('.', '/').Length == 0 ? "." : entry.Name;
                if (Path.IsPathRooted(entry.Name) || name.Split('/').Contains(".."))
                {
                    throw new JobFailedException($"The recipe {shownPath} holds '{entry.Name}', a name outside the recipe.");
                }
                switch (entry.EntryType)
                {
                    case System.Formats.Tar.TarEntryType.RegularFile or System.Formats.Tar.TarEntryType.V7RegularFile or System.Formats.Tar.TarEntryType.Directory:
                        break;
                    case System.Formats.Tar.TarEntryType.SymbolicLink:
                        var resolved = Path.GetFullPath(Path.Combine("/recipe", Path.GetDirectoryName(name) ?? "", entry.LinkName));
                        if (Path.IsPathRooted(entry.LinkName) || !(resolved + "/").StartsWith("/recipe/", StringComparison.Ordinal))
                        {
                            throw new JobFailedException($"The recipe {shownPath} holds the link '{entry.Name}' -> '{entry.LinkName}', which points outside the recipe.");
                        }
                        break;
                    default:
                        throw new JobFailedException($"The recipe {shownPath} holds '{entry.Name}', a {entry.EntryType} entry; only files, directories and links inside the recipe are accepted.");
                }
            }
        }
        catch (Exception exception) when (exception is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new JobFailedException($"The recipe {shownPath} is not a gzip-compressed tar archive: {exception.Message}");
        }
    }

    /// <summary>config.xml (or config.kiwi) at the archive's top, or inside its only directory.</summary>
    public static string? FindDescription(string directory)
    {
        var directories = Directory.GetDirectories(directory).Where(candidate => new DirectoryInfo(candidate).LinkTarget is null).ToArray();
        foreach (var candidate in new[] { directory }.Concat(directories is [var only] ? [only] : []))
        {
            if (DescriptionNames.Any(name => File.Exists(Path.Combine(candidate, name))))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// Replaces <c>{{ key }}</c> with the dictionary's value in every text file of the description,
    /// as the reference's Jinja templating of recipes does for plain substitutions; other markup is
    /// left alone. Returns how many files changed.
    /// </summary>
    public static int RenderTemplates(string directory, IReadOnlyList<TemplateDictionaryEntry> dictionary)
    {
        if (dictionary.Count == 0)
        {
            return 0;
        }
        var values = dictionary.GroupBy(entry => entry.Key).ToDictionary(group => group.Key, group => group.Last().Value);
        var changed = 0;
        // Links are not followed, neither to files nor into directories: only the recipe's own files change.
        var enumeration = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = false };
        foreach (var file in Directory.EnumerateFiles(directory, "*", enumeration))
        {
            var info = new FileInfo(file);
            if (info.LinkTarget is not null || info.Length > 4 << 20 || (File.GetUnixFileMode(file) & (UnixFileMode.SetUser | UnixFileMode.SetGroup)) != 0)
            {
                continue;
            }
            string text;
            try
            {
                text = File.ReadAllText(file, new UTF8Encoding(false, throwOnInvalidBytes: true));
            }
            catch (DecoderFallbackException)
            {
                continue;
            }
            catch (IOException exception)
            {
                throw new JobFailedException($"The recipe file {Path.GetRelativePath(directory, file)} could not be read: {exception.Message}");
            }
            var rendered = TemplateVariable().Replace(text, match => values.TryGetValue(match.Groups["key"].Value, out var value) ? value : match.Value);
            if (rendered != text)
            {
                File.WriteAllText(file, rendered, new UTF8Encoding(false));
                changed++;
            }
        }
        return changed;
    }

    /// <summary>The repository sources of a kiwi description.</summary>
    public static List<string> RepositorySources(string description)
    {
        var file = DescriptionNames.Select(name => Path.Combine(description, name)).First(File.Exists);
        try
        {
            return XDocument.Load(file).Descendants("repository").Elements("source")
                .Select(source => (string?)source.Attribute("path"))
                .OfType<string>()
                .ToList();
        }
        catch (System.Xml.XmlException exception)
        {
            throw new JobFailedException($"The kiwi description {Path.GetFileName(file)} is not well-formed XML: {exception.Message}");
        }
    }

    /// <summary>
    /// Waits until every http(s) repository answers and every local one exists: the reference waits
    /// for its repositories forever; this waits up to --ims-repository-wait-timeout.
    /// </summary>
    public async Task WaitForRepositoriesAsync(string jobId, string description, CancellationToken cancellationToken)
    {
        void Log(string line) => logs.Append(jobId, line);
        var pending = RepositorySources(description);
        if (pending.Count == 0)
        {
            Log("The kiwi description names no repositories.");
            return;
        }
        using var http = httpClients.CreateClient(nameof(RecipeBuild));
        http.Timeout = TimeSpan.FromSeconds(15);
        var deadline = clock.GetUtcNow() + options.RepositoryWaitTimeout;
        var reported = new HashSet<string>();
        while (true)
        {
            foreach (var source in pending.ToList())
            {
                var (available, reason) = await ProbeAsync(http, source, cancellationToken);
                if (available)
                {
                    pending.Remove(source);
                    Log($"Repository {UrlCredentials.Redact(source)}: {reason}.");
                }
                else if (reported.Add(source))
                {
                    Log($"Waiting for repository {UrlCredentials.Redact(source)}: {UrlCredentials.Redact(reason)}.");
                }
            }
            if (pending.Count == 0)
            {
                return;
            }
            if (clock.GetUtcNow() > deadline)
            {
                throw new JobFailedException($"These repositories did not answer within {options.RepositoryWaitTimeout} (--ims-repository-wait-timeout): {UrlCredentials.Redact(string.Join(", ", pending))}.");
            }
            await Task.Delay(TimeSpan.FromSeconds(5), clock, cancellationToken);
        }
    }

    private static async Task<(bool Available, string Reason)> ProbeAsync(HttpClient http, string source, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(source, UriKind.Absolute, out var uri))
        {
            return (true, "not a URL, left to kiwi");
        }
        if (uri.Scheme is "dir" or "file")
        {
            return Directory.Exists(uri.LocalPath) ? (true, "the directory exists") : (false, $"no directory {uri.LocalPath}");
        }
        if (uri.Scheme is not ("http" or "https"))
        {
            return (true, $"{uri.Scheme}: repositories are left to kiwi");
        }
        try
        {
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return (int)response.StatusCode < 500 ? (true, $"answers ({(int)response.StatusCode})") : (false, $"answers {(int)response.StatusCode}");
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (false, exception.Message);
        }
    }

    /// <summary>Builds the image root with kiwi-ng in the build sandbox; its output goes to the job log.</summary>
    public async Task BuildAsync(string jobId, string description, RecipeBuildSandbox sandbox, CancellationToken cancellationToken)
    {
        void Log(string line) => logs.Append(jobId, line);
        if (!ProgramSearch.IsAvailable(KiwiProgram))
        {
            throw new JobFailedException($"{KiwiProgram} was not found. Create jobs need kiwi-ng on the worker (Debian package kiwi).");
        }
        ProcessResult result;
        try
        {
            result = await runner.RunAsync(sandbox.Kiwi(["system", "prepare", "--description", description, "--root", sandbox.HostView, "--allow-existing-root"]) with
            {
                Timeout = options.BuildTimeout,
                // kiwi prints repository URLs, credentials included.
                OutputLine = line => Log(UrlCredentials.Redact(line)),
            }, cancellationToken);
        }
        catch (ProcessFailedException exception)
        {
            throw new JobFailedException($"{exception.Message} (--ims-build-timeout)");
        }
        if (!result.Succeeded)
        {
            throw new JobFailedException($"{KiwiProgram} system prepare failed with exit code {result.ExitCode}; its output is above.");
        }
        Log("kiwi-ng built the image root.");
    }

    [GeneratedRegex(@"\{\{\s*(?<key>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}")]
    private static partial Regex TemplateVariable();
}
