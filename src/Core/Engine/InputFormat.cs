using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>How a host batch becomes the model's input: its floating-point type and its memory layout.</summary>
/// <param name="Type">float32, or bfloat16 with <c>bf16</c> on CUDA.</param>
/// <param name="ChannelsLast">
/// NHWC strides (<c>channels_last</c>). LibTorch's convolutions (oneDNN on the CPU, cuDNN on CUDA) then work in NHWC
/// without reordering each input and output, and their outputs stay NHWC through the network, as with PyTorch's
/// <c>x.contiguous(memory_format=torch.channels_last)</c>. The arithmetic is the same but summed in another order:
/// each step differs from NCHW in the last bits and training amplifies that (sample-resnet50: 73.30 % against
/// 75.40 % test accuracy). It is the experiments' default because it is the faster layout on CPUs
/// (docs/benchmarks.md); runs in either layout are deterministic.
/// </param>
public readonly record struct InputFormat(ScalarType Type, bool ChannelsLast)
{
    /// <summary>float32 in NCHW: PyTorch's default layout (Trainer's and Evaluator's when none is given).</summary>
    public static InputFormat Nchw => new(ScalarType.Float32, false);

    /// <summary>The batch on <paramref name="device"/> in this type and layout.</summary>
    public Tensor Prepare(Tensor hostImages, Device device)
    {
        var x = TorchRuntime.ToDevice(hostImages, device).to(Type);
        return ChannelsLast ? ToChannelsLast(x) : x;
    }

    /// <summary>
    /// Why this run must not use channels-last on <paramref name="device"/>, or null when it may: the refusal of its
    /// <see cref="LayoutTable"/> row. On a CPU whose CPUID hides the cache sizes (<see cref="X86Cpu.Hidden"/>), LibTorch
    /// 2.10's oneDNN runs NHWC convolutions through its brgemm kernels, whose blocking heuristics
    /// (src/cpu/x64/jit_brgemm_conv_utils.cpp, <c>est_eff_1x1</c>) divide by quantities derived from those sizes. With
    /// oneDNN off (<paramref name="oneDnn"/> false, <c>numerics: portable</c>) ATen's own convolutions run instead.
    /// </summary>
    public static string? ChannelsLastRefusal(DeviceType device, X86Cpu? cpu, bool oneDnn) =>
        LayoutTable.For(device, cpu, oneDnn).Refusal;

    /// <summary>
    /// The same NCHW-shaped tensor with NHWC strides. TorchSharp 0.107 has no <c>contiguous(memory_format)</c>
    /// (src/TorchSharp/Tensor/Tensor.cs), so the layout is made by a contiguous copy of the NHWC permutation,
    /// permuted back: the strides LibTorch's channels-last format has.
    /// </summary>
    public static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>For reports: "float32", "bfloat16", with ", channels-last" when set.</summary>
    public override string ToString() =>
        (Type == ScalarType.BFloat16 ? "bfloat16" : "float32") + (ChannelsLast ? ", channels-last" : "");
}
