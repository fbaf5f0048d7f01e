using Repro.Core.Engine;

namespace Repro.Core.Tests.Engine;

public class AllocatorTests
{
    [Fact]
    public void Apply_ExperimentsSetting_GlibcTakesEverySetting()
    {
        // Both thresholds or neither: either set alone turns glibc's adaptation off for the other (Allocator.Experiments).
        var applied = Allocator.Apply(Allocator.Experiments);
        if (OperatingSystem.IsLinux())
            Assert.Equal(Allocator.Experiments.Split(','), applied);
        else
            Assert.Empty(applied);
    }

    [Fact]
    public void Apply_TorchThp_LibTorchCanReadTheVariable()
    {
        // LibTorch reads it through getenv, which .NET's own Environment never reaches on Linux.
        var applied = Allocator.Apply("torch_thp=1");
        if (OperatingSystem.IsLinux())
            Assert.Equal("1", NativeEnvironment.Get(Allocator.TorchHugePagesVariable));
        else
            Assert.Empty(applied); // huge pages are a Linux setting
    }

    [Theory]
    [InlineData("torch_thp=yes")]
    [InlineData("torch_thp")]
    public void Apply_TorchThpNotZeroOrOne_ThrowsNamingTheSetting(string setting)
    {
        if (OperatingSystem.IsLinux())
            Assert.Contains(setting, Assert.Throws<ArgumentException>(() => Allocator.Apply(setting)).Message);
        else
            Assert.Empty(Allocator.Apply(setting)); // settings are read on Linux only
    }
}
