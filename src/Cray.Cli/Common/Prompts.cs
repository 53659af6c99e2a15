namespace Cray.Cli.Common;

/// <summary>Questions on the terminal (on stderr, so stdout stays the command's result); "Aborted!" when nothing comes.</summary>
public static class Prompts
{
    public static string Ask(string label)
    {
        CliHost.Current.Error.Write($"{label}: ");
        var answer = CliHost.Current.In.ReadLine();
        if (string.IsNullOrWhiteSpace(answer))
        {
            throw new CliException("Aborted!", exitCode: 1);
        }
        return answer;
    }

    /// <summary>Like <see cref="Ask"/> without echoing what is typed; from a pipe, the first line.</summary>
    public static string AskSecret(string label)
    {
        if (CliHost.Current.InputIsRedirected)
        {
            var line = CliHost.Current.In.ReadLine();
            return string.IsNullOrWhiteSpace(line) ? throw new CliException("Aborted!", exitCode: 1) : line.Trim();
        }
        CliHost.Current.Error.Write($"{label}: ");
        var secret = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }
            if (key.Key == ConsoleKey.Backspace)
            {
                secret.Length = Math.Max(0, secret.Length - 1);
            }
            else if (!char.IsControl(key.KeyChar))
            {
                secret.Append(key.KeyChar);
            }
        }
        CliHost.Current.Error.WriteLine();
        return secret.Length == 0 ? throw new CliException("Aborted!", exitCode: 1) : secret.ToString();
    }

    public static bool Confirm(string question)
    {
        if (CliHost.Current.InputIsRedirected && CliHost.Current.In.Peek() < 0)
        {
            return false;
        }
        CliHost.Current.Error.Write($"{question} [y/N]: ");
        var answer = CliHost.Current.In.ReadLine();
        return answer is not null && answer.Trim().ToLowerInvariant() is "y" or "yes";
    }
}
