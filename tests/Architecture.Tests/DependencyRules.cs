using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Cray.Architecture.Tests;

/// <summary>One part of the tree (docs/architecture.md): its folder, namespace and what it may use.</summary>
public sealed record Part(string Name, string Folder, string Namespace, string[] MayUse, bool MayUseAspNetCoreAndSqlite);

/// <summary>Checks docs/architecture.md's rules against the project files and the code's namespaces.</summary>
public static partial class DependencyRules
{
    public static readonly Part[] Parts =
    [
        new("Processes", "src/Processes", "Cray.Processes", [], MayUseAspNetCoreAndSqlite: false),
        new("Squashfs", "src/Squashfs", "Cray.Squashfs", [], MayUseAspNetCoreAndSqlite: false),
        new("Platform", "src/Platform", "Cray.Platform", ["Processes"], MayUseAspNetCoreAndSqlite: true),
        new("Artifacts", "src/Artifacts", "Cray.Artifacts", ["Platform", "Processes"], MayUseAspNetCoreAndSqlite: true),
        new("Ims", "src/Ims", "Cray.Ims", ["Platform", "Processes", "Artifacts", "Squashfs"], MayUseAspNetCoreAndSqlite: true),
        new("Cfs", "src/Cfs", "Cray.Cfs", ["Platform", "Processes", "Artifacts"], MayUseAspNetCoreAndSqlite: true),
        new("Server", "src/Cray.Server", "Cray.Server", ["Platform", "Processes", "Squashfs", "Artifacts", "Ims", "Cfs"], MayUseAspNetCoreAndSqlite: true),
        new("Cli", "src/Cray.Cli", "Cray.Cli", ["Processes"], MayUseAspNetCoreAndSqlite: false),
    ];

    /// <summary>Every broken rule, as a sentence naming the file.</summary>
    public static List<string> Violations(string repositoryRoot)
    {
        var violations = new List<string>();
        var references = Parts.ToDictionary(part => part.Name, part => ProjectReferences(repositoryRoot, part, violations));
        foreach (var part in Parts)
        {
            var project = ProjectFile(repositoryRoot, part);
            foreach (var used in references[part.Name].Where(used => !part.MayUse.Contains(used)))
            {
                violations.Add($"{project}: {part.Name} must not reference {used}");
            }
            if (!part.MayUseAspNetCoreAndSqlite)
            {
                foreach (var reached in Closure(part.Name, references).Prepend(part.Name).Distinct())
                {
                    var reachedProject = XDocument.Load(Path.Combine(repositoryRoot, ProjectFile(repositoryRoot, Parts.Single(other => other.Name == reached))));
                    if (reachedProject.Descendants("FrameworkReference").Any(reference => (string?)reference.Attribute("Include") == "Microsoft.AspNetCore.App"))
                    {
                        violations.Add($"{project}: {part.Name} must not depend on ASP.NET Core (through {reached})");
                    }
                    if (reachedProject.Descendants("PackageReference").Any(reference => ((string?)reference.Attribute("Include"))?.Contains("Sqlite", StringComparison.OrdinalIgnoreCase) == true))
                    {
                        violations.Add($"{project}: {part.Name} must not depend on SQLite (through {reached})");
                    }
                }
            }
            foreach (var file in SourceFiles(repositoryRoot, part))
            {
                var text = File.ReadAllText(file);
                foreach (var used in NamespaceMention().Matches(text).Select(match => match.Groups["part"].Value).Distinct())
                {
                    var usedPart = Parts.Single(other => other.Namespace == "Cray." + used);
                    if (usedPart != part && !part.MayUse.Contains(usedPart.Name))
                    {
                        violations.Add($"{Path.GetRelativePath(repositoryRoot, file)}: {part.Name} must not use {usedPart.Namespace}");
                    }
                }
            }
        }
        return violations;
    }

    private static string ProjectFile(string repositoryRoot, Part part)
        => Path.GetRelativePath(repositoryRoot, Directory.EnumerateFiles(Path.Combine(repositoryRoot, part.Folder), "*.csproj").Single());

    private static List<string> ProjectReferences(string repositoryRoot, Part part, List<string> violations)
    {
        var project = Path.Combine(repositoryRoot, ProjectFile(repositoryRoot, part));
        var names = new List<string>();
        foreach (var include in XDocument.Load(project).Descendants("ProjectReference").Select(reference => (string?)reference.Attribute("Include")).OfType<string>())
        {
            var folder = Path.GetRelativePath(repositoryRoot, Path.GetDirectoryName(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, include.Replace('\\', '/'))))!);
            var referenced = Parts.FirstOrDefault(other => other.Folder == folder.Replace('\\', '/'));
            if (referenced is null)
            {
                violations.Add($"{Path.GetRelativePath(repositoryRoot, project)}: references {include}, which is no part of docs/architecture.md");
            }
            else
            {
                names.Add(referenced.Name);
            }
        }
        return names;
    }

    private static IEnumerable<string> Closure(string name, IReadOnlyDictionary<string, List<string>> references)
        => references[name].SelectMany(used => Closure(used, references).Prepend(used));

    private static IEnumerable<string> SourceFiles(string repositoryRoot, Part part)
        => Directory.EnumerateFiles(Path.Combine(repositoryRoot, part.Folder), "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Split(Path.DirectorySeparatorChar).Any(segment => segment is "bin" or "obj"));

    [GeneratedRegex(@"\bCray\.(?<part>Processes|Squashfs|Platform|Artifacts|Ims|Cfs|Server|Cli)\b")]
    private static partial Regex NamespaceMention();
}
