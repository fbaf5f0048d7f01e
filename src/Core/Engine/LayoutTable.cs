using System.Text;
using TorchSharp;

namespace Repro.Core.Engine;

/// <summary>
/// One row of <see cref="LayoutTable"/>: the platforms it covers, the input layout each model gets there, and the
/// measured figures behind the choice.
/// </summary>
/// <param name="Platforms">The platforms the row covers, in words (the table's first column).</param>
/// <param name="ResNet50">ResNet50's layout there.</param>
/// <param name="DenseNet121">DenseNet121's layout there.</param>
/// <param name="Refusal">Why <c>channels_last: true</c> is not honoured there (the run says it and goes NCHW); null where it is.</param>
/// <param name="Evidence">The measurements the row rests on, with the CPUs they were taken on.</param>
public sealed record LayoutRule(string Platforms, string ResNet50, string DenseNet121, string? Refusal, string Evidence);

/// <summary>
/// The committed table that decides the input layout (and records the downsample form) per platform and model. It
/// reads only fields of the numerics platform record, which its id hashes, never a timing taken at run time: a
/// platform gets one choice, so a rerun there repeats its bits. <c>channels_last:</c> in experiments.yaml still
/// decides wherever a row has no <see cref="LayoutRule.Refusal"/>. The figures are issue 15's and issue 26's
/// benchmarks (docs/benchmarks.md); a new CPU kind with other figures gets a row here, not a run-time probe.
/// </summary>
public static class LayoutTable
{
    /// <summary>As <c>channels_last:</c> says (channels-last by default): the layout cell of rows without a refusal.</summary>
    public const string AsAsked = "channels-last (the default); NCHW with `channels_last: false`";

    public static readonly LayoutRule Cuda = new(
        "CUDA GPU", AsAsked, AsAsked, null,
        "cuDNN's NHWC kernels are the fast path on tensor-core GPUs (PyTorch's channels-last guidance); not measured here (no GPU).");

    public static readonly LayoutRule OneDnnOff = new(
        "CPU with oneDNN off (`numerics: portable`)", AsAsked, AsAsked, null,
        "ATen's own convolutions run in either layout; nothing crashes (docs/numerics.md).");

    public static readonly LayoutRule CachesHidden = new(
        "x86 CPU whose CPUID hides its cache sizes (`cache_l1d` = hidden; e.g. AMD family 26 model 2 VMs)", "NCHW", "NCHW",
        "channels_last is not used on this CPU: its CPUID hides the cache sizes, and LibTorch's oneDNN crashes (SIGFPE) in channels-last convolutions without them; this run is NCHW",
        "LibTorch 2.10's oneDNN divides by cache-derived blockings in its NHWC brgemm convolutions (jit_brgemm_conv_utils.cpp, est_eff_1x1): the process dies with SIGFPE in the first 1x1 convolution (AMD family 26 model 2 VM, 2026-12-02).");

    public static readonly LayoutRule CachesVisible = new(
        "any other CPU (caches visible)", AsAsked, AsAsked, null,
        "Channels-last defaults against PyTorch's default NCHW: 1.04-1.36x at 224 px, 0.96-1.11x at 64 px (AMD family 23, generic AVX2 CPUID, issue 15); "
        + "1.09-1.77x at 224 px (Intel family 6 model 207, AVX-512, issue 26). No size or model split is supported by the figures: there, ResNet50 "
        + "training at 64 px ran 6 % faster in NCHW (55.6 against 52.4 images/s) but at 32 px 6 % slower (139 against 148).");

    /// <summary>The rows, most specific first: the first that covers a platform decides.</summary>
    public static IReadOnlyList<LayoutRule> Rows { get; } = [Cuda, OneDnnOff, CachesHidden, CachesVisible];

    /// <summary>
    /// ResNet's 1x1 stride-2 shortcut is the subsampled form (<see cref="Models.Downsample"/>) on every row: it avoids
    /// oneDNN's strided backward crash on CPUs hiding their caches and costs nothing measurable elsewhere, and one form
    /// everywhere keeps ResNet50's bits independent of this table.
    /// </summary>
    public const string Downsample =
        "ResNet50's 1x1 stride-2 shortcut is subsampled (`x[:, :, ::2, ::2]`, stride 1) on every row: the strided form's backward crashes where caches are hidden, "
        + "and elsewhere the subsampled one costs nothing measurable (0.91-1.04x the strided form's CPU time per step, NCHW, 64 and 224 px, AMD family 26 model 2 with caches visible; "
        + "not measured in channels-last). One form everywhere keeps ResNet50's bits independent of this table.";

    /// <summary>The row for a run on <paramref name="device"/> with this CPU, oneDNN on or off.</summary>
    public static LayoutRule For(DeviceType device, X86Cpu? cpu, bool oneDnn) =>
        For(device == DeviceType.CUDA, oneDnn, cpu?.L1d == X86Cpu.Hidden);

    /// <summary>
    /// The row for a recorded platform, from the fields its id hashes: <c>device</c>, <c>onednn_enabled</c> (portable
    /// runs record it) and <c>cache_l1d</c>. Two records with the same id get the same row.
    /// </summary>
    public static LayoutRule For(NumericsPlatform platform) =>
        For(platform.Device == "cuda", platform.OneDnnEnabled is not "off", platform.CacheL1d == X86Cpu.Hidden);

    private static LayoutRule For(bool cuda, bool oneDnn, bool cachesHidden) =>
        cuda ? Cuda : !oneDnn ? OneDnnOff : cachesHidden ? CachesHidden : CachesVisible;

    /// <summary>One line for a report or the platform record: the row and what it gives each model.</summary>
    public static string Describe(LayoutRule rule) =>
        $"layout table row \"{rule.Platforms}\": ResNet50 {rule.ResNet50}; DenseNet121 {rule.DenseNet121}";

    /// <summary>The table as docs/benchmarks.md carries it (rendered from here; a test keeps the two equal).</summary>
    public static string Markdown()
    {
        var md = new StringBuilder();
        md.Append("| platform | ResNet50 | DenseNet121 | `channels_last: true` | evidence |\n|---|---|---|---|---|\n");
        foreach (var row in Rows)
            md.Append("| ").Append(row.Platforms).Append(" | ").Append(row.ResNet50).Append(" | ").Append(row.DenseNet121)
              .Append(" | ").Append(row.Refusal is null ? "honoured" : "refused, said in the log").Append(" | ").Append(row.Evidence).Append(" |\n");
        md.Append('\n').Append(Downsample).Append('\n');
        return md.ToString();
    }
}
