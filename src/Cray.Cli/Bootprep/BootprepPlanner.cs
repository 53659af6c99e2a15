namespace Cray.Cli.Bootprep;

/// <summary>
/// Checks the file's items against each other and the server, in the reference's order, and
/// decides what happens to each; every problem is collected, and nothing is created here.
/// </summary>
public sealed class BootprepPlanner(YamlDocument document, BootprepInput input, ServerInventory inventory, BootprepSections sections,
    ExistingPolicy policy, TemplateRenderer renderer, Func<string, ExistingAction> ask)
{
    private readonly List<string> problems = [];

    /// <summary>Without a server: only the checks of the file against itself (what <c>validate</c> runs).</summary>
    private bool offline;

    /// <summary>The checks that need no server: image names render and are unique, ref_names, image_refs, cycles.</summary>
    public static void CheckOffline(YamlDocument document, BootprepInput input, TemplateRenderer renderer)
    {
        var planner = new BootprepPlanner(document, input, new ServerInventory(new HashSet<string>(), [], []), BootprepSections.All,
            new ExistingPolicy(false, false, false, false), renderer, _ => ExistingAction.Abort)
        { offline = true };
        planner.Plan();
    }

    public BootprepPlan Plan()
    {
        var configurations = sections.HasFlag(BootprepSections.Configurations) ? PlanConfigurations() : [];
        var images = sections.HasFlag(BootprepSections.Images) ? PlanImages() : [];
        if (sections.HasFlag(BootprepSections.SessionTemplates))
        {
            CheckSessionTemplates();
        }
        if (problems.Count > 0)
        {
            throw new BootprepInputException(document.Path, problems);
        }
        return new BootprepPlan(sections, configurations, images,
            sections.HasFlag(BootprepSections.SessionTemplates) ? input.SessionTemplates : []);
    }

    private void Problem(string pointer, string message) => problems.Add($"{document.Place(pointer)}: {message}");

    private List<ConfigurationStep> PlanConfigurations()
        => [.. input.Configurations.Select(item => new ConfigurationStep(item, inventory.Configurations.Contains(item.Name)
            ? Decide("configuration", item.Name, item.Pointer, item.IfExists, policy.OverwriteConfigurations, policy.SkipExistingConfigurations, "--overwrite-configs", "--skip-existing-configs")
            : ExistingAction.Create))];

    private ExistingAction Decide(string kind, string name, string pointer, ExistingAction? ifExists, bool overwriteAll, bool skipAll,
        string overwriteFlag, string skipFlag)
    {
        var action = overwriteAll ? ExistingAction.Overwrite
            : skipAll ? ExistingAction.Skip
            : ifExists ?? ask($"The {kind} {name} exists");
        if (action == ExistingAction.Abort)
        {
            Problem(pointer, $"the {kind} {name} exists and {(ifExists == ExistingAction.Abort ? "if_exists is abort" : "nothing says what to do")}: " +
                $"set if_exists (skip or overwrite) or pass {overwriteFlag} or {skipFlag}");
        }
        return action;
    }

    private List<ImageStep> PlanImages()
    {
        var problemsBefore = problems.Count;
        var images = input.Images;
        var byReference = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var index = 0; index < images.Count; index++)
        {
            if (images[index].ReferenceName is { } reference && !byReference.TryAdd(reference, index))
            {
                Problem(images[index].Pointer + "/ref_name", $"the ref_name '{reference}' is also used by {YamlDocument.PathText(images[byReference[reference]].Pointer)}");
            }
        }
        var dependencies = new int?[images.Count];
        for (var index = 0; index < images.Count; index++)
        {
            if (images[index].Base is { Kind: BaseKind.ImageReference, ImageReference: { } reference })
            {
                if (byReference.TryGetValue(reference, out var dependency))
                {
                    dependencies[index] = dependency;
                }
                else
                {
                    Problem(images[index].Pointer + "/base/image_ref", $"no image in the file has ref_name '{reference}'");
                }
            }
        }
        var order = Order(dependencies);
        if (order is null)
        {
            return [];
        }

        // Names render in dependency order: base.name of an image_ref is the name of the image it names.
        var names = new string?[images.Count];
        var baseNames = new string?[images.Count];
        foreach (var index in order)
        {
            baseNames[index] = BaseName(images[index], dependencies[index] is { } dependency ? names[dependency] : null);
            if (baseNames[index] is not null)
            {
                names[index] = RenderName(images[index], baseNames[index]!);
            }
        }
        foreach (var duplicate in Enumerable.Range(0, images.Count).Where(index => names[index] is not null).GroupBy(index => names[index]).Where(group => group.Count() > 1))
        {
            Problem(images[duplicate.Last()].Pointer + "/name", $"the image name '{duplicate.Key}' is used by {duplicate.Count()} images of the file (bootprep needs unique image names)");
        }
        var baseIds = new string?[images.Count];
        for (var index = 0; index < images.Count; index++)
        {
            var image = images[index];
            if (image.Base is { Kind: BaseKind.Image, Name: { } baseName }
                && Enumerable.Range(0, images.Count).FirstOrDefault(other => other != index && names[other] == baseName, -1) is var maker and >= 0)
            {
                Problem(image.Pointer + "/base", $"the base image '{baseName}' is made by {YamlDocument.PathText(images[maker].Pointer)} of this file: give that image a ref_name and use base.image_ref here");
            }
            else if (!offline)
            {
                baseIds[index] = BaseId(image);
                CheckConfiguration(image);
            }
        }
        if (offline || problems.Count > problemsBefore)
        {
            return [];
        }

        var steps = new ImageStep?[images.Count];
        foreach (var index in order)
        {
            var image = images[index];
            var name = names[index]!;
            var existing = inventory.Images.Where(record => record.Name == name).Select(record => record.Id).ToList();
            var action = existing.Count == 0 ? ExistingAction.Create
                : Decide("image", name, image.Pointer, image.IfExists, policy.OverwriteImages, policy.SkipExistingImages, "--overwrite-images", "--skip-existing-images");
            if (action == ExistingAction.Skip && existing.Count > 1)
            {
                Problem(image.Pointer, $"{existing.Count} IMS images are named {name} ({string.Join(", ", existing)}); skip cannot tell which to use: delete the others or overwrite");
            }
            steps[index] = new ImageStep(index, image, name, action, image.Base.Kind, baseIds[index], baseNames[index]!, dependencies[index],
                action == ExistingAction.Overwrite ? existing : [], action == ExistingAction.Skip ? existing.FirstOrDefault() : null);
        }
        return [.. order.Select(index => steps[index]!)];
    }

    private string? RenderName(ImageItem image, string baseName)
    {
        var (name, problem) = renderer.Render(image.NameTemplate,
            new Dictionary<string, object?> { ["base"] = new Dictionary<string, object?> { ["name"] = baseName } });
        if (problem is not null)
        {
            Problem(image.Pointer + "/name", problem);
            return null;
        }
        if (string.IsNullOrWhiteSpace(name))
        {
            Problem(image.Pointer + "/name", $"'{image.NameTemplate}' renders empty");
            return null;
        }
        return name;
    }

    /// <summary>The base's name, for base.name: the name given, the record's for an id (the id itself offline), the dependency's rendered name.</summary>
    private string? BaseName(ImageItem image, string? dependencyName)
    {
        switch (image.Base)
        {
            case { Kind: BaseKind.ImageReference }:
                return dependencyName;
            case { Name: { } name }:
                return name;
            case { Kind: var kind, Id: { } id }:
                if (offline)
                {
                    return id;
                }
                if ((kind == BaseKind.Recipe ? inventory.Recipes : inventory.Images).FirstOrDefault(record => record.Id == id) is { } record)
                {
                    return record.Name;
                }
                Problem(image.Pointer + "/base", $"IMS has no {(kind == BaseKind.Recipe ? "recipe" : "image")} with id {id}");
                return null;
            default:
                return null;
        }
    }

    /// <summary>The IMS id of an image or recipe base, or null after reporting why there is none.</summary>
    private string? BaseId(ImageItem image)
    {
        if (image.Base is { Kind: BaseKind.ImageReference })
        {
            return null;
        }
        var kind = image.Base.Kind;
        var what = kind == BaseKind.Recipe ? "recipe" : "image";
        var records = kind == BaseKind.Recipe ? inventory.Recipes : inventory.Images;
        if (image.Base.Id is { } id)
        {
            return records.Any(record => record.Id == id) ? id : null;
        }
        var name = image.Base.Name!;
        var matches = records.Where(record => record.Name == name).ToList();
        if (matches.Count == 1)
        {
            return matches[0].Id;
        }
        Problem(image.Pointer + "/base", matches.Count == 0
            ? $"IMS has no {what} named '{name}'"
            : $"IMS has {matches.Count} {what}s named '{name}' ({string.Join(", ", matches.Select(match => match.Id))}); give base.ims.id instead of name");
        return null;
    }

    private void CheckConfiguration(ImageItem image)
    {
        if (image.Configuration is not { } name || inventory.Configurations.Contains(name))
        {
            return;
        }
        var inFile = input.Configurations.Any(configuration => configuration.Name == name);
        if (!inFile)
        {
            Problem(image.Pointer + "/configuration", $"CFS has no configuration named '{name}' and the file does not make one");
        }
        else if (!sections.HasFlag(BootprepSections.Configurations))
        {
            Problem(image.Pointer + "/configuration", $"the configuration '{name}' is only in the file, and --limit leaves configurations out");
        }
    }

    private void CheckSessionTemplates()
    {
        foreach (var template in input.SessionTemplates)
        {
            if (template.ImageReference is { } reference && !input.Images.Any(image => image.ReferenceName == reference))
            {
                Problem(template.Pointer + "/image/image_ref", $"no image in the file has ref_name '{reference}'");
            }
            if (!offline && template.Configuration is { } name && !inventory.Configurations.Contains(name) && !input.Configurations.Any(configuration => configuration.Name == name))
            {
                Problem(template.Pointer + "/configuration", $"CFS has no configuration named '{name}' and the file does not make one");
            }
        }
    }

    /// <summary>A dependency order (bases first), or null after reporting each cycle.</summary>
    private List<int>? Order(int?[] dependencies)
    {
        var order = new List<int>();
        var state = new int[dependencies.Length];
        var cyclic = false;
        for (var start = 0; start < dependencies.Length; start++)
        {
            var chain = new List<int>();
            var current = (int?)start;
            while (current is { } index && state[index] == 0)
            {
                state[index] = 1;
                chain.Add(index);
                current = dependencies[index];
            }
            if (current is { } revisited && state[revisited] == 1)
            {
                var cycle = chain.SkipWhile(index => index != revisited).ToList();
                cyclic = true;
                Problem(input.Images[revisited].Pointer + "/base/image_ref",
                    "image_ref makes a cycle: " + string.Join(" -> ", cycle.Append(revisited).Select(index => input.Images[index].ReferenceName ?? YamlDocument.PathText(input.Images[index].Pointer))));
            }
            chain.Reverse();
            foreach (var index in chain)
            {
                state[index] = 2;
                order.Add(index);
            }
        }
        return cyclic ? null : order;
    }
}
