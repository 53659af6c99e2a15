namespace Cray.Cli.Common;

/// <summary>
/// A boolean option's value. Not a plain bool: System.CommandLine takes the token after a bool
/// option only when it reads "true" or "false", so "yes", "1" or "t" would be refused before the
/// reference CLI's spellings could be parsed.
/// </summary>
public readonly record struct BooleanArgument(bool Value);
