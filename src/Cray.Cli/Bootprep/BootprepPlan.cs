namespace Cray.Cli.Bootprep;

/// <summary>An IMS image or recipe as the plan needs it.</summary>
public sealed record ImsRecord(string Id, string Name);

/// <summary>What the server has, read once before the plan is made.</summary>
public sealed record ServerInventory(IReadOnlySet<string> Configurations, IReadOnlyList<ImsRecord> Images, IReadOnlyList<ImsRecord> Recipes);

/// <summary>The sections <c>--limit</c> lets the run touch.</summary>
[Flags]
public enum BootprepSections
{
    None = 0,
    Configurations = 1,
    Images = 2,
    SessionTemplates = 4,
    All = Configurations | Images | SessionTemplates,
}

/// <summary>How the run treats items that exist: the flags over each item's <c>if_exists</c>, then the question.</summary>
public sealed record ExistingPolicy(bool OverwriteConfigurations, bool SkipExistingConfigurations, bool OverwriteImages, bool SkipExistingImages);

public sealed record ConfigurationStep(ConfigurationItem Item, ExistingAction Action);

/// <summary>
/// One image to make. Its base is an IMS image or recipe (<see cref="BaseId"/>) or the result of
/// another step (<see cref="Dependency"/>); a skipped step's result is the existing image.
/// </summary>
public sealed record ImageStep(int Index, ImageItem Item, string Name, ExistingAction Action, BaseKind BaseKind, string? BaseId,
    string BaseName, int? Dependency, IReadOnlyList<string> ReplacedIds, string? ExistingId)
{
    /// <summary>The IMS create job's image name: the final name unless a configuration follows.</summary>
    public string RecipeImageName => Item.Configuration is null ? Name : Name + "-pre-configuration";
}

public sealed record BootprepPlan(BootprepSections Sections, IReadOnlyList<ConfigurationStep> Configurations, IReadOnlyList<ImageStep> Images,
    IReadOnlyList<SessionTemplateItem> SessionTemplates)
{
    /// <summary>The images to make, each after the one it depends on.</summary>
    public IEnumerable<ImageStep> ImagesToMake => Images.Where(step => step.Action != ExistingAction.Skip);
}
