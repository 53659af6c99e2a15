using System.Text;

namespace Cray.Cfs.Sessions;

/// <summary>
/// The reference's whitelist for <c>ansible_passthrough</c>: -e/--extra-vars, -f/--forks (an integer),
/// --skip-tags, --start-at-task and -t/--tags. Long options may be abbreviated to any unique prefix.
/// </summary>
public static class AnsiblePassthrough
{
    private static readonly (string Short, string Long, bool Integer)[] Allowed =
    [
        ("-e", "--extra-vars", false),
        ("-f", "--forks", true),
        ("", "--skip-tags", false),
        ("", "--start-at-task", false),
        ("-t", "--tags", false),
    ];

    /// <summary>Returns null when the text is acceptable, else what is wrong with it.</summary>
    public static string? Validate(string passthrough)
    {
        List<string> tokens;
        try
        {
            tokens = Split(passthrough);
        }
        catch (FormatException exception)
        {
            return exception.Message;
        }
        for (var index = 0; index < tokens.Count; index++)
        {
            var token = tokens[index];
            string? value = null;
            (string Short, string Long, bool Integer)? option = null;
            if (token.StartsWith("--", StringComparison.Ordinal))
            {
                var name = token.Split('=', 2)[0];
                value = token.Contains('=') ? token.Split('=', 2)[1] : null;
                var matches = Allowed.Where(candidate => candidate.Long.StartsWith(name, StringComparison.Ordinal)).ToList();
                var exact = matches.Where(candidate => candidate.Long == name).ToList();
                if (exact.Count == 1)
                {
                    matches = exact;
                }
                if (matches.Count == 0)
                {
                    return $"unrecognized arguments: {token}";
                }
                if (matches.Count > 1)
                {
                    return $"ambiguous option: {name} could match {string.Join(", ", matches.Select(match => match.Long))}";
                }
                option = matches[0];
            }
            else if (token.StartsWith('-') && token.Length >= 2)
            {
                var match = Allowed.FirstOrDefault(candidate => candidate.Short.Length > 0 && token.StartsWith(candidate.Short, StringComparison.Ordinal));
                if (match.Long is null)
                {
                    return $"unrecognized arguments: {token}";
                }
                option = match;
                value = token.Length > 2 ? token[2..] : null;
            }
            else
            {
                return $"unrecognized arguments: {token}";
            }
            if (value is null)
            {
                if (index + 1 >= tokens.Count)
                {
                    return $"argument {option.Value.Long}: expected one argument";
                }
                value = tokens[++index];
            }
            if (option.Value.Integer && !int.TryParse(value, out _))
            {
                return $"argument {option.Value.Long}: invalid int value: '{value}'";
            }
        }
        return null;
    }

    /// <summary>Shell-style splitting: whitespace separates, quotes group (and are kept out of the token).</summary>
    public static List<string> Split(string text)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var inToken = false;
        char? quote = null;
        for (var index = 0; index < text.Length; index++)
        {
            var character = text[index];
            if (quote is not null)
            {
                if (character == quote)
                {
                    quote = null;
                }
                else if (character == '\\' && quote == '"' && index + 1 < text.Length)
                {
                    current.Append(text[++index]);
                }
                else
                {
                    current.Append(character);
                }
            }
            else if (character is '\'' or '"')
            {
                quote = character;
                inToken = true;
            }
            else if (char.IsWhiteSpace(character))
            {
                if (inToken)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                    inToken = false;
                }
            }
            else
            {
                if (character == '\\' && index + 1 < text.Length)
                {
                    character = text[++index];
                }
                current.Append(character);
                inToken = true;
            }
        }
        if (quote is not null)
        {
            throw new FormatException("No closing quotation");
        }
        if (inToken)
        {
            tokens.Add(current.ToString());
        }
        return tokens;
    }
}
