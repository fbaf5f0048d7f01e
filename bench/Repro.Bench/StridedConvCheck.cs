using System.Globalization;
using Repro.Core.Engine;
using static TorchSharp.torch;

namespace Repro.Bench;

/// <summary>
/// Whether this machine's LibTorch survives backward of a bias-free 1x1 convolution with stride 2, the convolution
/// that ResNet's Downsample avoids: oneDNN's <c>brg_blocking_t::est_eff_1x1()</c> divides by zero (SIGFPE) on some
/// AMD Zen 5 VMs for 512 and more input channels. A crash kills the process (exit 136), so each case runs in
/// its own process:
///   Repro.Bench strided-1x1 &lt;in&gt; &lt;out&gt; &lt;batch&gt; &lt;side&gt; [--subsampled] [--threads 2]
/// e.g. `strided-1x1 1024 2048 16 14` (ResNet50's layer4.0 shortcut at 224 px) and `strided-1x1 512 1024 64 4`.
/// --subsampled runs Downsample's form instead (stride-1 convolution of x[:, :, ::2, ::2]).
/// </summary>
internal static class StridedConvCheck
{
    public static int Run(string[] args)
    {
        if (args.Length < 4)
        {
            Console.Error.WriteLine("usage: Repro.Bench strided-1x1 <in> <out> <batch> <side> [--subsampled] [--threads 2]");
            return 2;
        }
        long[] n = args[..4].Select(a => long.Parse(a, CultureInfo.InvariantCulture)).ToArray();
        var (inplanes, outplanes, batch, side) = (n[0], n[1], n[2], n[3]);
        bool subsampled = args.Contains("--subsampled");
        int threads = Array.IndexOf(args, "--threads") is var t and >= 0 ? int.Parse(args[t + 1], CultureInfo.InvariantCulture) : 2;
        // Repro's LibTorch settings (threads, deterministic algorithms), as in training.
        TorchRuntime.Configure(threads, CPU, tf32: true);
        TorchRuntime.Seed(1);
        using var scope = NewDisposeScope();
        var x = randn(batch, inplanes, side, side).requires_grad_(true);
        var weight = randn(outplanes, inplanes, 1, 1).mul_(0.01).requires_grad_(true);
        var y = subsampled
            ? nn.functional.conv2d(x.slice(2, 0, side, 2).slice(3, 0, side, 2), weight)
            : nn.functional.conv2d(x, weight, strides: [2, 2]);
        y.sum().backward();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(subsampled ? "subsampled" : "strided")} 1x1 conv {inplanes}->{outplanes} on {batch}x{inplanes}x{side}x{side}: "
            + $"forward and backward ran, output {string.Join('x', y.shape)}, |grad x| sum {x.grad!.abs().sum().item<float>():G6}, |grad w| sum {weight.grad!.abs().sum().item<float>():G6}"));
        return 0;
    }
}
