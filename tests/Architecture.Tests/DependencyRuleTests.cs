namespace Cray.Architecture.Tests;

public sealed class DependencyRuleTests
{
    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cray.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("The repository root (Cray.slnx) was not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void TheTreeKeepsTheRulesOfDocsArchitecture()
    {
        var violations = DependencyRules.Violations(RepositoryRoot());
        Assert.True(violations.Count == 0, string.Join('\n', violations));
    }

    [Fact]
    public void EveryProjectUnderSrcIsAPartOfTheRules()
    {
        var root = RepositoryRoot();
        var projects = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(project => Path.GetRelativePath(root, Path.GetDirectoryName(project)!))
            .Order(StringComparer.Ordinal);
        Assert.Equal(DependencyRules.Parts.Select(part => part.Folder).Order(StringComparer.Ordinal), projects);
    }

    [Fact]
    public void TheImsWorkerReachesImageRecordsOnlyThroughItsRegistryPort()
    {
        // A worker on another machine has IMS's HTTP API, not its image service: only the in-process registry may use it.
        var worker = Path.Combine(RepositoryRoot(), "src", "Ims", "Worker");
        var users = Directory.EnumerateFiles(worker, "*.cs", SearchOption.AllDirectories)
            .Where(file => File.ReadAllText(file).Contains("Cray.Ims.Images", StringComparison.Ordinal))
            .Select(Path.GetFileName);
        Assert.Equal(["ImageRegistry.cs"], users);
    }

    [Fact]
    public void AClientThatReachesForTheServerSideIsCaught()
    {
        // A copy of the tree's shape in which the CLI references Platform and uses the record store.
        var root = Directory.CreateTempSubdirectory("architecture-rules-").FullName;
        try
        {
            foreach (var part in DependencyRules.Parts)
            {
                Directory.CreateDirectory(Path.Combine(root, part.Folder));
                var references = string.Concat(part.MayUse.Select(used =>
                    $"""<ProjectReference Include="../../{DependencyRules.Parts.Single(other => other.Name == used).Folder}/x.csproj" />"""));
                if (part.Name == "Cli")
                {
                    references += """<ProjectReference Include="../Platform/x.csproj" />""";
                }
                if (part.Name == "Platform")
                {
                    references += """<FrameworkReference Include="Microsoft.AspNetCore.App" />""";
                }
                File.WriteAllText(Path.Combine(root, part.Folder, "x.csproj"), $"""<Project Sdk="Microsoft.NET.Sdk"><ItemGroup>{references}</ItemGroup></Project>""");
                File.WriteAllText(Path.Combine(root, part.Folder, "Code.cs"), $"namespace {part.Namespace};\n");
            }
            File.WriteAllText(Path.Combine(root, "src/Cray.Cli/Store.cs"), "using Cray.Platform.Storage;\nnamespace Cray.Cli;\n");

            var violations = DependencyRules.Violations(root);
            Assert.Contains("src/Cray.Cli/x.csproj: Cli must not reference Platform", violations);
            Assert.Contains("src/Cray.Cli/x.csproj: Cli must not depend on ASP.NET Core (through Platform)", violations);
            Assert.Contains("src/Cray.Cli/Store.cs: Cli must not use Cray.Platform", violations);
            Assert.Equal(3, violations.Count);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
