using TorchSharp;
using Repro.Config;
using Repro.Core.Engine;
using Repro.Core.Models;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

public sealed class InputFormatTests
{
    [Fact]
    public void Prepare_ChannelsLast_SameValuesWithNhwcStrides()
    {
        using var x = arange(2 * 3 * 4 * 5, dtype: float32).reshape(2, 3, 4, 5);

        using var y = new InputFormat(ScalarType.Float32, ChannelsLast: true).Prepare(x, CPU);

        Assert.Equal(x.shape, y.shape);
        Assert.Equal([60L, 1L, 15L, 3L], y.stride());
        Assert.True(y.eq(x).all().item<bool>());
    }

    [Fact]
    public void Prepare_Default_KeepsNchwStrides()
    {
        using var x = zeros(2, 3, 4, 5);

        using var y = InputFormat.Nchw.Prepare(x, CPU);

        Assert.Equal([60L, 20L, 5L, 1L], y.stride());
    }

    [Fact]
    public void ChannelsLastRefusal_CpuHidingItsCaches_SaysWhyAndOnlyOnTheCpu()
    {
        var hidden = X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.Zen5VmHiddenCaches()));
        var visible = X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.Zen5Vm()));

        Assert.Contains("hides the cache sizes", InputFormat.ChannelsLastRefusal(DeviceType.CPU, hidden, oneDnn: true));
        Assert.Null(InputFormat.ChannelsLastRefusal(DeviceType.CUDA, hidden, oneDnn: true));
        Assert.Null(InputFormat.ChannelsLastRefusal(DeviceType.CPU, visible, oneDnn: true));
        Assert.Null(InputFormat.ChannelsLastRefusal(DeviceType.CPU, X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.Zen4())), oneDnn: true));
    }

    // The layout must change only how LibTorch sums, not what the network computes. Not on a CPU where channels-last
    // crashes LibTorch (the refusal above, which ExperimentRunnerTests checks the runner honours): skipped there.
    [ChannelsLastFact]
    public void Prepare_ChannelsLastThroughResNet50_LogitsMatchNchwToRounding()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var model = Zoo.Create(ModelKind.ResNet50, 10);
        model.eval();
        using var noGrad = no_grad();
        var x = randn(2, 3, 32, 32, generator: new Generator(5));

        var nchw = model.call(InputFormat.Nchw.Prepare(x, CPU));
        var nhwc = model.call(new InputFormat(ScalarType.Float32, ChannelsLast: true).Prepare(x, CPU));

        Assert.True(nhwc.allclose(nchw, rtol: 1e-4, atol: 1e-4), $"max difference {(nhwc - nchw).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData(ScalarType.Float32, false, "float32")]
    [InlineData(ScalarType.BFloat16, true, "bfloat16, channels-last")]
    public void ToString_TypeAndLayout_AsReportsShowThem(ScalarType type, bool channelsLast, string expected) =>
        Assert.Equal(expected, new InputFormat(type, channelsLast).ToString());
}
