using Repro.Core.Engine;

namespace Repro.Core.Tests.Engine;

public class AllocatorTests
{
    [Theory]
    [InlineData(Allocator.Heap)]
    [InlineData(Allocator.HugePages)]
    public void Apply_ExperimentsSetting_GlibcTakesEverySetting(string settings)
    {
        // Both thresholds or neither: either set alone turns glibc's adaptation off for the other (Allocator.Heap).
        var applied = Allocator.Apply(settings);
        if (OperatingSystem.IsLinux())
            Assert.Equal(settings.Split(','), applied);
        else
            Assert.Empty(applied);
    }

    [Theory]
    [InlineData(32, 224, "[always] madvise never\n", Allocator.HugePages)]
    [InlineData(32, 224, "always [madvise] never\n", Allocator.HugePages)]
    [InlineData(32, 224, "always madvise [never]\n", Allocator.Heap)]
    [InlineData(32, 224, null, Allocator.Heap)]
    [InlineData(32, 128, "always [madvise] never\n", Allocator.HugePages)]
    [InlineData(32, 64, "always [madvise] never\n", Allocator.Heap)]
    [InlineData(64, 32, "always [madvise] never\n", Allocator.Heap)]
    public void ForExperiments_BatchCropAndKernelMode_HugePagesOnlyForLargeActivationsWhereTheKernelGivesThem(int batch, int crop, string? mode, string expected)
    {
        // Without huge pages, 8 MiB chunks mapped afresh fault 4 KiB at a time; with small activations the heap is faster.
        Assert.Equal(expected, Allocator.ForExperiments(Allocator.LargestActivationBytes(batch, crop), mode));
    }

    [Theory]
    [InlineData(Allocator.HugePages, true, Allocator.HugePages)]
    [InlineData(Allocator.HugePages, false, Allocator.Heap)]
    [InlineData(Allocator.Heap, false, Allocator.Heap)]
    public void Settle_LibTorchTookOrMissedItsHugePageSwitch_HugePagesOnlyWhereTaken(string applied, bool inEffect, string expected)
    {
        // Without LibTorch's huge pages the 8 MiB threshold faults 4 KiB pages: half the heap setting's speed at 224 px.
        int asked = 0;
        Assert.Equal(expected, Allocator.Settle(applied, () => { asked++; return inEffect; }));
        Assert.Equal(applied == Allocator.HugePages ? 1 : 0, asked); // the probe allocates: only where it decides
    }

    [Fact]
    public void LargestActivationBytes_ResNet50Stem_EqualsTheStemOutputOfARealForward()
    {
        using var model = Repro.Core.Models.Zoo.Create(Repro.Config.ModelKind.ResNet50, 10);
        using var x = TorchSharp.torch.zeros(2, 3, 33, 33);
        using var stem = ((TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>)model.named_children().First(c => c.name == "conv1").module).call(x);
        Assert.Equal(stem.NumberOfElements * sizeof(float), Allocator.LargestActivationBytes(2, 33));
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
