using System.Globalization;
using Xunit.Sdk;

namespace Repro.Core.Tests;

public sealed class SnapshotTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-snapshot-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string FakeTestFile => Path.Combine(dir, "FakeTests.cs");

    [Fact]
    public void Verify_NoVerifiedFile_WritesReceivedAndFails()
    {
        Assert.Throws<FailException>(() => Snapshot.Verify("a\r\nb\n", null, FakeTestFile, "Method"));
        Assert.Equal("a\nb\n", File.ReadAllText(Path.Combine(dir, "FakeTests.Method.received.txt")));
    }

    [Fact]
    public void Verify_Parameterised_ComparesWithVerifyNamedFile()
    {
        // Verify.Xunit's UseParameters(arch) names this file; under any other name the call fails for want of it.
        File.WriteAllText(Path.Combine(dir, "FakeTests.Method_arch=resnet50.verified.txt"), "same\n");

        Snapshot.Verify("same\n", [("arch", "resnet50")], FakeTestFile, "Method");
    }

    [Fact]
    public void Verify_SeveralParameters_ReceivedNamedInOrderInvariantAndFileSafe()
    {
        var culture = CultureInfo.CurrentCulture;
        // A decimal comma would otherwise name the case differently on a German machine.
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            Assert.Throws<FailException>(() => Snapshot.Verify("a\n", [("arch", "a/b:c"), ("rate", 0.5), ("head", null)], FakeTestFile, "Method"));
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }

        Assert.True(File.Exists(Path.Combine(dir, "FakeTests.Method_arch=a-b-c_rate=0.5_head=null.received.txt")));
    }

    [Fact]
    public void Verify_TextDiffers_FailsWithDiffAndKeepsReceived()
    {
        File.WriteAllText(Path.Combine(dir, "FakeTests.Method.verified.txt"), "same\nold\n");

        var error = Assert.Throws<FailException>(() => Snapshot.Verify("same\nnew\n", null, FakeTestFile, "Method"));

        Assert.Contains("line 2 - old", error.Message);
        Assert.Contains("line 2 + new", error.Message);
        Assert.True(File.Exists(Path.Combine(dir, "FakeTests.Method.received.txt")));
    }

    [Fact]
    public void Verify_TextEqualsVerified_PassesAndRemovesStaleReceived()
    {
        File.WriteAllText(Path.Combine(dir, "FakeTests.Method.verified.txt"), "same\r\n");
        File.WriteAllText(Path.Combine(dir, "FakeTests.Method.received.txt"), "stale\n");

        Snapshot.Verify("same\n", null, FakeTestFile, "Method");

        Assert.False(File.Exists(Path.Combine(dir, "FakeTests.Method.received.txt")));
    }

    [Fact]
    public void VerifyNumbersOnPlatform_SamePlatformOtherNumber_Fails()
    {
        File.WriteAllText(Path.Combine(dir, "FakeTests.Method.verified.txt"), "# numerics platform: aaaa (numbers exact on this platform, masked on others)\n\"accuracy\": 0.750000\n");

        var error = Assert.Throws<FailException>(() => Snapshot.VerifyNumbersOnPlatform("\"accuracy\": 0.763000\n", "aaaa", null, FakeTestFile, "Method"));

        Assert.Contains("line 2 + \"accuracy\": 0.763000", error.Message);
    }

    [Fact]
    public void VerifyNumbersOnPlatform_OtherPlatformOtherNumberSameFormat_Passes()
    {
        File.WriteAllText(Path.Combine(dir, "FakeTests.Method.verified.txt"), "# numerics platform: aaaa (numbers exact on this platform, masked on others)\n\"accuracy\": 0.750000\n");

        Snapshot.VerifyNumbersOnPlatform("\"accuracy\": 0.763000\n", "bbbb", null, FakeTestFile, "Method");
    }

    [Fact]
    public void VerifyNumbersOnPlatform_OtherPlatformOtherFormat_FailsNamingBothPlatforms()
    {
        File.WriteAllText(Path.Combine(dir, "FakeTests.Method.verified.txt"), "# numerics platform: aaaa (numbers exact on this platform, masked on others)\n\"accuracy\": 0.750000\n");

        var error = Assert.Throws<FailException>(() => Snapshot.VerifyNumbersOnPlatform("\"top1\": 0.763000\n", "bbbb", null, FakeTestFile, "Method"));

        Assert.Contains("accepted on platform aaaa, this is bbbb", error.Message);
    }
}
