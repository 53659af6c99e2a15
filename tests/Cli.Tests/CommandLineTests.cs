using Cray.Cli.Common;
using Cray.Cli.Configuration;

namespace Cray.Cli.Tests;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData("127.0.0.1:8280", "http://127.0.0.1:8280")]
    [InlineData("http://localhost:8280/", "http://localhost:8280")]
    [InlineData("https://127.0.0.1:8280", "https://127.0.0.1:8280")]
    [InlineData("api-gw-service-nmn.local", "https://api-gw-service-nmn.local")]
    [InlineData("http://api-gw-service-nmn.local", "https://api-gw-service-nmn.local")]
    [InlineData("[::1]:8280", "http://[::1]:8280")]
    public void HostnamesUseHttpsExceptOnLoopbackWhereHttpsIsKeptOnlyWhenAskedFor(string given, string expected)
        => Assert.Equal(expected, ConfigCommands.NormaliseHostname(given));

    [Theory]
    [InlineData("Unrecognized command or argument '--bogus'.", "No such option: --bogus")]
    [InlineData("Unrecognized command or argument 'extra'.", "Got unexpected extra argument (extra)")]
    public void ParserMessagesUseTheReferenceWording(string message, string expected)
        => Assert.Equal(expected, UsageErrors.Translate(message));

    [Theory]
    [InlineData(new[] { "ims", "-vv", "images", "list" }, 2)]
    [InlineData(new[] { "-v", "x", "-vvv" }, 4)]
    [InlineData(new[] { "x", "--", "-v" }, 0)]
    public void VerbosityIsCountedAndRemoved(string[] arguments, int expected)
    {
        var (kept, verbosity) = GlobalOptions.ExtractVerbosity(arguments);
        Assert.Equal(expected, verbosity);
        Assert.DoesNotContain(kept, argument => argument.StartsWith("-v", StringComparison.Ordinal) && verbosity > 0 && argument != "--");
    }

    [Theory]
    [InlineData("True", true)]
    [InlineData("yes", true)]
    [InlineData("t", true)]
    [InlineData("0", false)]
    [InlineData("N", false)]
    public void BooleansAcceptTheReferenceSpellings(string text, bool expected)
    {
        Assert.True(BooleanText.TryParse(text, out var value));
        Assert.Equal(expected, value);
        Assert.False(BooleanText.TryParse("maybe", out _));
    }
}

public sealed class JobCommandTests
{
    [Fact]
    public void SshContainerOptionsAreZippedLikeTheReference()
    {
        Assert.Equal("""[{"jail":true}]""", Cray.Cli.Ims.JobCommands.ZipContainers(null, "True")!.ToJsonString());
        Assert.Equal("""[{"name":"a","jail":true},{"name":"b","jail":false}]""", Cray.Cli.Ims.JobCommands.ZipContainers("a, b", "yes,0")!.ToJsonString());
        Assert.Null(Cray.Cli.Ims.JobCommands.ZipContainers(null, null));
        var uneven = Assert.Throws<Cray.Cli.Common.CliException>(() => Cray.Cli.Ims.JobCommands.ZipContainers("a,b", "true"));
        Assert.Equal("Invalid value: Missing parameter: --ssh-containers-jail", uneven.Message);
        Assert.Throws<Cray.Cli.Common.CliException>(() => Cray.Cli.Ims.JobCommands.ZipContainers(null, "maybe"));
    }
}
