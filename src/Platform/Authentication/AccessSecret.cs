namespace Cray.Platform.Authentication;

/// <summary>A token held in options records: a record's ToString prints every member, and this one prints nothing secret.</summary>
public sealed class AccessSecret(string value)
{
    public string Value { get; } = value;

    public override string ToString() => "(secret)";
}
