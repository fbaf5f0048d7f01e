using Repro.Core.Engine;

namespace Repro.Core.Tests.Engine;

public class AllocatorTests
{
    [Fact]
    public void Apply_ExperimentsSetting_GlibcTakesBothThresholds()
    {
        // Both or neither: either threshold set alone turns glibc's adaptation off for the other (Allocator.Experiments).
        var applied = Allocator.Apply(Allocator.Experiments);
        if (OperatingSystem.IsLinux())
            Assert.Equal(Allocator.Experiments.Split(','), applied);
        else
            Assert.Empty(applied);
    }
}
