namespace Cray.Cfs;

/// <summary>The two API versions: one store, different key casing, list shapes and status codes.</summary>
public enum CfsApiVersion
{
    V2,
    V3,
}
