namespace Cray.Cli.Bootprep;

/// <summary>
/// The example <c>generate-example</c> writes. The reference fills it from its product catalog;
/// this system has none, so it names the server's first recipe and image when there are some.
/// </summary>
public static class BootprepExample
{
    public static string Text(ServerInventory inventory)
    {
        var recipe = Quoted(inventory.Recipes.Count > 0 ? inventory.Recipes[0].Name : "RECIPE-NAME");
        var imageName = inventory.Images.Count > 0 ? inventory.Images[0].Name : "IMAGE-NAME";
        var image = Quoted(imageName);
        var customized = Quoted(imageName + "-customized");
        return $$"""
            # An input file for cray bootprep run (the format of sat bootprep, schema {{BootprepSchema.Version.ToString(3)}}).
            # Its templates use two variables; check it with:
            #   cray bootprep validate bootprep-example.yaml --vars site.version=1 --vars site.repository=URL
            # See what it would do: cray bootprep run bootprep-example.yaml --vars site.version=1 --vars site.repository=URL --dry-run
            schema_version: {{BootprepSchema.Version.ToString(3)}}

            configurations:
            - name: compute-{{"{{"}} site.version {{"}}"}}
              layers:
              - name: site
                playbook: site.yml
                git:
                  url: "{{"{{"}} site.repository {{"}}"}}"
                  branch: main
              if_exists: overwrite

            images:
            # Built from an IMS recipe, then customized; others refer to it by ref_name.
            - name: compute-{{"{{"}} base.name {{"}}"}}
              ref_name: compute-base
              base:
                ims:
                  name: {{recipe}}
                  type: recipe
              configuration: compute-{{"{{"}} site.version {{"}}"}}
              configuration_group_names:
              - Compute
              if_exists: skip
            # The image above, customized again with other groups.
            - name: application-{{"{{"}} site.version {{"}}"}}
              base:
                image_ref: compute-base
              configuration: compute-{{"{{"}} site.version {{"}}"}}
              configuration_group_names:
              - Application
            # An existing IMS image, customized.
            - name: {{customized}}
              base:
                ims:
                  name: {{image}}
                  type: image
              configuration: compute-{{"{{"}} site.version {{"}}"}}
              configuration_group_names:
              - Compute

            """;
    }

    /// <summary>A name as a YAML double-quoted text (JSON's quoting is valid YAML), whatever characters it has.</summary>
    private static string Quoted(string name) => System.Text.Json.JsonSerializer.Serialize(name);
}
