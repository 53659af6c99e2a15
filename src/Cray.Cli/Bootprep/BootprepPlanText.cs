using System.Text;

namespace Cray.Cli.Bootprep;

/// <summary>What <c>--dry-run</c> prints: each item's fate, images in the order they can start.</summary>
public static class BootprepPlanText
{
    public static string Describe(BootprepPlan plan)
    {
        var text = new StringBuilder("Dry run: nothing was created, changed or deleted.\n");
        if (plan.Sections.HasFlag(BootprepSections.Configurations))
        {
            text.Append('\n').Append($"CFS configurations ({plan.Configurations.Count}):\n");
            foreach (var step in plan.Configurations)
            {
                text.Append($"  {Verb(step.Action),-10} {step.Item.Name}{(step.Action == ExistingAction.Create ? "" : " (it exists)")}: " +
                    $"{step.Item.Layers.Count} layer{(step.Item.Layers.Count == 1 ? "" : "s")}\n");
            }
        }
        if (plan.Sections.HasFlag(BootprepSections.Images))
        {
            var toMake = plan.ImagesToMake.ToList();
            var independent = toMake.Count(step => step.Dependency is null || plan.Images.First(other => other.Index == step.Dependency).Action == ExistingAction.Skip);
            text.Append('\n').Append($"IMS images ({plan.Images.Count}, in the order they can start; of the {toMake.Count} that would be made, {independent} have no dependencies):\n");
            foreach (var step in plan.Images)
            {
                text.Append($"  {Verb(step.Action),-10} {step.Name}: {Describe(plan, step)}\n");
            }
        }
        if (plan.Sections.HasFlag(BootprepSections.SessionTemplates))
        {
            text.Append('\n').Append($"BOS session templates ({plan.SessionTemplates.Count}):\n");
            foreach (var template in plan.SessionTemplates)
            {
                text.Append($"  {"skip",-10} {template.Name}: this system has no boot service (BOS)\n");
            }
        }
        return text.ToString();
    }

    private static string Verb(ExistingAction action) => action switch
    {
        ExistingAction.Overwrite => "overwrite",
        ExistingAction.Skip => "skip",
        _ => "create",
    };

    private static string Describe(BootprepPlan plan, ImageStep step)
    {
        if (step.Action == ExistingAction.Skip)
        {
            return $"it exists ({step.ExistingId})";
        }
        var parts = new List<string>();
        parts.Add(step.BaseKind switch
        {
            BaseKind.Recipe => $"IMS create job from recipe {step.BaseName} ({step.BaseId}) making {step.RecipeImageName}",
            BaseKind.Image => $"from IMS image {step.BaseName} ({step.BaseId})",
            _ => plan.Images.First(other => other.Index == step.Dependency) is { Action: ExistingAction.Skip } skipped
                ? $"from the existing image {skipped.Name} ({skipped.ExistingId})"
                : $"after {step.BaseName} is made, from it",
        });
        if (step.Item.Configuration is { } configuration)
        {
            parts.Add($"CFS session with {configuration} (groups {string.Join(", ", step.Item.GroupNames)})");
        }
        if (step.ReplacedIds.Count > 0)
        {
            parts.Add($"then delete the image{(step.ReplacedIds.Count == 1 ? "" : "s")} it replaces ({string.Join(", ", step.ReplacedIds)})");
        }
        return string.Join("; ", parts);
    }
}
