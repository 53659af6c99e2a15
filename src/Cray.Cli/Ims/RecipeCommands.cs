using System.CommandLine;
using System.Text.Json.Nodes;
using Cray.Cli.Common;

namespace Cray.Cli.Ims;

/// <summary>
/// <c>cray ims recipes …</c>: the records only. The archive itself is uploaded with
/// <c>cray artifacts create ims recipes/ID/FILE</c> and then linked with <c>update --link-*</c>.
/// </summary>
public static class RecipeCommands
{
    private const string Recipes = $"{ImsCommands.Base}/recipes";

    public static Command Build()
    {
        var recipes = Leaf.Group("recipes", "IMS recipes", ImsCommands.CommonCommands("recipes", "RECIPE_ID", "recipe").ToArray());
        recipes.Subcommands.Add(Create());
        recipes.Subcommands.Add(Update());
        return recipes;
    }

    private static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Name of the recipe", Required = true, HelpName = "NAME" };
        var recipeType = new Option<string>("--recipe-type") { Description = "Recipe type: kiwi-ng or packer", Required = true, HelpName = "RECIPE_TYPE" };
        recipeType.AcceptOnlyFromAmong("kiwi-ng", "packer");
        var distribution = new Option<string>("--linux-distribution")
        {
            Description = "Linux distribution: sles12, sles15 or centos7",
            Required = true,
            HelpName = "LINUX_DISTRIBUTION",
        };
        distribution.AcceptOnlyFromAmong("sles12", "sles15", "centos7");
        var settings = new RecipeSettings();
        return Leaf.Create("create", "Create a recipe record", (context, token) =>
        {
            var body = ImsCommands.Body(
            [
                ("name", context.Value(name)),
                ("recipe_type", context.Value(recipeType)),
                ("linux_distribution", context.Value(distribution)),
                .. settings.Members(context),
            ]);
            return context.Api.SendAsync(HttpMethod.Post, Recipes, body, cancellationToken: token);
        }, [recipeType, distribution, name, .. settings.Options]);
    }

    private static Command Update()
    {
        var id = new Argument<string>("RECIPE_ID");
        var settings = new RecipeSettings();
        return Leaf.Create("update", "Update a recipe: link it to its archive, change its arch, DKMS need or template dictionary",
            (context, token) => context.Api.SendAsync(HttpMethod.Patch, $"{Recipes}/{ImsCommands.Escape(context.ParseResult.GetValue(id)!)}",
                ImsCommands.Body(settings.Members(context)), cancellationToken: token),
            [id, .. settings.Options]);
    }

    /// <summary>The options that create and update share, and the body members they give.</summary>
    private sealed class RecipeSettings
    {
        private readonly Option<string> arch = ImsCommands.ArchOption();
        private readonly Option<BooleanArgument?> requireDkms = TypedOptions.Boolean("--require-dkms", "Whether images built from the recipe need DKMS (default true)");
        private readonly Option<string> linkType;
        private readonly Option<string> linkPath;
        private readonly Option<string> linkEtag;
        private readonly Option<string> templateKeys = new("--template-dictionary-key")
        {
            Description = "Template dictionary keys, comma separated",
            HelpName = "TEXT",
        };
        private readonly Option<string> templateValues = new("--template-dictionary-value")
        {
            Description = "Template dictionary values, comma separated, in the order of the keys",
            HelpName = "TEXT",
        };

        public RecipeSettings() => (linkType, linkPath, linkEtag) = ImsCommands.LinkOptions("recipe archive");

        public Symbol[] Options => [arch, requireDkms, linkType, linkPath, linkEtag, templateKeys, templateValues];

        /// <summary>The body members of the options given; <see cref="ImsCommands.Body"/> leaves out the rest.</summary>
        public (string Name, JsonNode? Value)[] Members(CliContext context)
        {
            var link = ImsCommands.Body(("type", context.Value(linkType)), ("path", context.Value(linkPath)), ("etag", context.Value(linkEtag)));
            return
            [
                ("arch", context.Value(arch)),
                ("require_dkms", context.Value(requireDkms)),
                ("link", link.Count > 0 ? link : null),
                ("template_dictionary", ZippedLists.Zip(
                    ZippedField.Strings("--template-dictionary-key", "key", context.Value(templateKeys)),
                    ZippedField.Strings("--template-dictionary-value", "value", context.Value(templateValues)))),
            ];
        }
    }
}
