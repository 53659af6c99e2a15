using System.CommandLine;

namespace Cray.Cli.Common;

/// <summary>Options with the reference CLI's value rules (Click's boolean spellings, for one).</summary>
public static class TypedOptions
{
    /// <summary>A boolean option that takes a value: true/false, 1/0, yes/no, y/n, t/f in any case.</summary>
    public static Option<BooleanArgument?> Boolean(string name, string description)
        => new(name)
        {
            Description = description,
            HelpName = "BOOLEAN",
            Arity = ArgumentArity.ExactlyOne,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (BooleanText.TryParse(text, out var value))
                {
                    return new BooleanArgument(value);
                }
                result.AddError($"Invalid value for '{name}': '{text}' is not a valid boolean.");
                return null;
            },
        };

    public static Option<int?> Integer(string name, string description, int minimum = int.MinValue)
        => new(name)
        {
            Description = description,
            HelpName = "INTEGER",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (int.TryParse(text, out var value) && value >= minimum)
                {
                    return value;
                }
                result.AddError($"Invalid value for '{name}': '{text}' is not a valid integer{(minimum > int.MinValue ? $" of at least {minimum}" : "")}.");
                return null;
            },
        };
}
