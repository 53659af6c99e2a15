using Cray.Ims.Images;
using Cray.Processes;

namespace Cray.Ims.Tests;

/// <summary>Package versions ordered as dpkg and rpm order them.</summary>
public sealed class PackageVersionTests
{
    private static readonly (string First, string Second, int Expected)[] Debian =
    [
        ("1.0", "1.0", 0),
        ("1.0", "1.0-0", 0),
        ("1.0-1", "1.0-2", -1),
        ("1.0~rc1", "1.0", -1),
        ("1.0~rc1", "1.0~rc2", -1),
        ("1.0~~", "1.0~", -1),
        ("1.0~", "1.0", -1),
        ("1.0", "1.0+b1", -1),
        ("1.0a", "1.0", 1),
        ("1.0a", "1.0+", -1),
        ("1:0.1", "2.0", 1),
        ("0:2.0", "2.0", 0),
        ("2.10", "2.9", 1),
        ("2.010", "2.10", 0),
        ("5.2.15-2", "5.2.15-3", -1),
        ("2.36-9", "2.36-10", -1),
        ("1.2.3-1ubuntu1", "1.2.3-1", 1),
        ("7:1.0", "10:0.1", -1),
        ("1.0-1-1", "1.0-1", 1),
    ];

    public static TheoryData<string, string, int> DebianCases()
    {
        var cases = new TheoryData<string, string, int>();
        foreach (var (first, second, expected) in Debian)
        {
            cases.Add(first, second, expected);
        }
        return cases;
    }

    [Theory]
    [MemberData(nameof(DebianCases))]
    public void DebianVersionsOrderAsDpkgOrdersThem(string first, string second, int expected)
    {
        Assert.Equal(expected, Math.Sign(DebianVersion.Compare(first, second)));
        Assert.Equal(-expected, Math.Sign(DebianVersion.Compare(second, first)));
    }

    [Fact]
    public async Task DebianOrderAgreesWithDpkgItself()
    {
        foreach (var (first, second, expected) in Debian)
        {
            var relation = expected switch { < 0 => "lt", 0 => "eq", _ => "gt" };
            var result = await ProcessRunner.Instance.RunAsync(new ProcessRequest("dpkg", ["--compare-versions", first, relation, second]));
            Assert.True(result.Succeeded, $"dpkg says {first} is not {relation} {second}: {result.Output}");
        }
    }

    [Theory]
    [InlineData("1.0", "1.0", 0)]
    [InlineData("1.0", "1.0.1", -1)]
    [InlineData("1.0~rc1", "1.0", -1)]
    [InlineData("1.0^git1", "1.0", 1)]
    [InlineData("1.0^git1", "1.0.1", -1)]
    [InlineData("2.10", "2.9", 1)]
    [InlineData("1.a", "1.1", -1)]
    [InlineData("1_0", "1.0", 0)]
    [InlineData("010", "10", 0)]
    [InlineData("abc", "abd", -1)]
    [InlineData("1.0a", "1.0", 1)]
    public void RpmVersionsOrderAsRpmvercmpOrdersThem(string first, string second, int expected)
    {
        Assert.Equal(expected, Math.Sign(RpmVersion.CompareText(first, second)));
        Assert.Equal(-expected, Math.Sign(RpmVersion.CompareText(second, first)));
    }

    [Theory]
    [InlineData("1:1.0-1", "2.0-1", 1)]
    [InlineData("1.0-1.1", "1.0-1.2", -1)]
    [InlineData("0:1.0-1", "1.0-1", 0)]
    [InlineData("5.14.21-150500.55.39.1", "5.14.21-150500.55.44.1", -1)]
    public void RpmEpochVersionAndReleaseOrderInThatOrder(string first, string second, int expected)
        => Assert.Equal(expected, Math.Sign(RpmVersion.CompareWritten(first, second)));
}
