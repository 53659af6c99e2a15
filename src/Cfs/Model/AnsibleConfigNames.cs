using System.Text.RegularExpressions;

namespace Cray.Cfs.Model;

/// <summary>
/// An Ansible configuration is named as the reference names its ConfigMaps, and the runner reads
/// ANSIBLE-CONFIGS-DIR/NAME.cfg: so a name is letters, digits, '.', '_' and '-', starting with a
/// letter or digit (never a path, never "." or ".."), or empty for the default.
/// </summary>
public static partial class AnsibleConfigNames
{
    public const int MaximumLength = 253;

    [GeneratedRegex(@"^([A-Za-z0-9][A-Za-z0-9._-]*)?$")]
    public static partial Regex Pattern();
}
