using System.Globalization;
using System.Runtime.InteropServices;

namespace Repro.Core.Engine;

/// <summary>
/// glibc malloc tuning through <c>mallopt(3)</c>: what the <c>MALLOC_*_</c> environment variables set, from inside the
/// process (the variables must be in the environment before the process starts, which a build's child process or a
/// user's shell does not guarantee). LibTorch's CPU allocator takes activations from malloc; glibc keeps freed
/// activation memory in its heap, which after fragmentation holds more than the live tensors (docs/benchmarks.md).
/// </summary>
public static partial class Allocator
{
    // glibc's malloc.h parameter numbers.
    private const int MTrimThreshold = -1;
    private const int MTopPad = -2;
    private const int MMmapThreshold = -3;
    private const int MArenaMax = -8;

    /// <summary>
    /// What experiments with small activations run with (all but <see cref="HugePages"/>'s): chunks up to 32 MiB come
    /// from the heap and up to 256 MiB of freed heap stays mapped. glibc's default thresholds adapt to the largest chunk
    /// freed so far and then trim the heap whenever a step's activations are freed, so the next step faults the same
    /// pages in again (at 32 px, batch 64, ResNet50 trained at 75-90 images/s with glibc's defaults, 182-204 with this;
    /// PyTorch 1.13: 99-112). Setting either threshold alone turns glibc's adaptation off for both and is much slower
    /// (25 images/s). Where memory comes from never changes a result. docs/benchmarks.md has the figures.
    /// </summary>
    public const string Heap = "mmap_threshold=33554432,trim_threshold=268435456";

    /// <summary>
    /// What experiments with large activations (<see cref="HugePagesFromBytes"/>) run with where the kernel gives
    /// transparent huge pages: chunks of 8 MiB and more are mapped afresh each step, so that a fragmented heap does not
    /// hold them past their use, and LibTorch asks for huge pages on its buffers of 2 MiB and more, so a 2 MiB page
    /// faults in once where 512 small ones did. ResNet50 training at 224 px, batch 32: 2.4 images/s at 4.5-4.7 GB peak
    /// RSS with <see cref="Heap"/>, 3.7-4.5 at 3.4-3.5 GB with this (PyTorch 1.13: 1.8-1.9 at 3.8-4.0 GB). With small
    /// activations it is slower than <see cref="Heap"/> (each 2-8 MiB buffer is advised separately inside the heap).
    /// </summary>
    public const string HugePages = "mmap_threshold=8388608,trim_threshold=268435456,torch_thp=1";

    /// <summary>The largest activation from which <see cref="HugePages"/> applies: where <see cref="Heap"/> would map it afresh anyway.</summary>
    public const long HugePagesFromBytes = 32L << 20;

    /// <summary>The kernel's transparent-huge-page mode, e.g. <c>always [madvise] never</c> (the bracketed one holds).</summary>
    public const string TransparentHugePagesMode = "/sys/kernel/mm/transparent_hugepage/enabled";

    /// <summary>
    /// The setting for an experiment on this machine: <see cref="HugePages"/> where its largest activation is at least
    /// <see cref="HugePagesFromBytes"/> and <see cref="TransparentHugePagesMode"/> says <c>[always]</c> or
    /// <c>[madvise]</c> (without huge pages, 8 MiB chunks mapped afresh fault 4 KiB at a time: ResNet50 at 224 px,
    /// 1.2 images/s), else <see cref="Heap"/>. A rule on the configuration and a kernel setting, never a timing.
    /// </summary>
    public static string ForExperiments(long largestActivationBytes) =>
        ForExperiments(largestActivationBytes, File.Exists(TransparentHugePagesMode) ? File.ReadAllText(TransparentHugePagesMode) : null);

    /// <summary><see cref="ForExperiments(long)"/> for a given mode line (null: no transparent huge pages).</summary>
    public static string ForExperiments(long largestActivationBytes, string? transparentHugePagesMode) =>
        largestActivationBytes >= HugePagesFromBytes && transparentHugePagesMode is { } mode
        && (mode.Contains("[always]", StringComparison.Ordinal) || mode.Contains("[madvise]", StringComparison.Ordinal))
            ? HugePages
            : Heap;

    /// <summary>
    /// The setting to keep once LibTorch has allocated: <paramref name="applied"/>, except <see cref="HugePages"/> where
    /// LibTorch did not take its huge-page switch (it reads it once, at its first CPU allocation: a process that ran
    /// LibTorch before this experiment, as a library user running several experiments in one process does). There the
    /// 8 MiB threshold alone faults 4 KiB pages, about half <see cref="Heap"/>'s speed at 224 px, so <see cref="Heap"/>.
    /// <paramref name="torchHugePagesInEffect"/> (<see cref="TorchHugePagesInEffect"/>) is asked only for <see cref="HugePages"/>.
    /// </summary>
    public static string Settle(string applied, Func<bool> torchHugePagesInEffect) =>
        applied == HugePages && !torchHugePagesInEffect() ? Heap : applied;

    /// <summary>
    /// The largest float32 activation of ResNet50 and DenseNet121 alike: the stem's output, 64 channels at half the
    /// crop (ResNet50's layer1 output, 256 channels at a quarter, and DenseNet121's first block are the same size).
    /// </summary>
    public static long LargestActivationBytes(int batch, int crop)
    {
        long half = (crop + 1) / 2;
        return (long)batch * 64 * half * half * sizeof(float);
    }

    /// <summary>
    /// The variable LibTorch's CPU allocator reads at its first allocation (c10/core/impl/alloc_cpu.cpp, PyTorch 2.1
    /// on): when 1, buffers of 2 MiB and more are page-aligned and advised <c>MADV_HUGEPAGE</c>.
    /// </summary>
    public const string TorchHugePagesVariable = "THP_MEM_ALLOC_ENABLE";

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);

    /// <summary>
    /// Applies settings written as <c>key=value</c> pairs separated by commas (<c>mmap_threshold</c>, <c>trim_threshold</c>,
    /// <c>top_pad</c>, <c>arena_max</c>; values in bytes, or a count for arena_max; <c>torch_thp=1</c> sets
    /// <see cref="TorchHugePagesVariable"/>, which takes effect only before LibTorch's first CPU tensor). Returns what was
    /// accepted; off Linux (or with another C library) nothing is applied.
    /// </summary>
    public static IReadOnlyList<string> Apply(string settings)
    {
        var applied = new List<string>();
        if (!OperatingSystem.IsLinux() || string.IsNullOrWhiteSpace(settings))
            return applied;
        foreach (var pair in settings.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2);
            if (parts[0] == "torch_thp")
            {
                if (parts.Length != 2 || parts[1] is not ("0" or "1"))
                    throw new ArgumentException($"malloc setting '{pair}' takes 0 or 1");
                NativeEnvironment.Set(TorchHugePagesVariable, parts[1]);
                applied.Add(pair);
                continue;
            }
            int param = parts[0] switch
            {
                "mmap_threshold" => MMmapThreshold,
                "trim_threshold" => MTrimThreshold,
                "top_pad" => MTopPad,
                "arena_max" => MArenaMax,
                _ => throw new ArgumentException($"unknown malloc setting '{parts[0]}' (mmap_threshold, trim_threshold, top_pad, arena_max, torch_thp)"),
            };
            if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
                throw new ArgumentException($"malloc setting '{pair}' needs a whole number, as {parts[0]}=65536");
            try
            {
                if (MallOpt(param, value) == 1)
                    applied.Add(pair);
            }
            catch (EntryPointNotFoundException)
            {
                return applied;
            }
        }
        return applied;
    }

    /// <summary>
    /// Whether LibTorch's CPU allocator took <see cref="TorchHugePagesVariable"/>: it then page-aligns every buffer of
    /// 2 MiB or more, so four fresh ones are all page-aligned (by chance, with 64-byte alignment: one time in 2^24).
    /// </summary>
    public static bool TorchHugePagesInEffect()
    {
        var tensors = Enumerable.Range(0, 4).Select(_ => TorchSharp.torch.empty(2L << 20, TorchSharp.torch.ScalarType.Byte)).ToList();
        try
        {
            return tensors.All(t => (long)StorageDataPtr(t.Handle) % Environment.SystemPageSize == 0);
        }
        finally
        {
            tensors.ForEach(t => t.Dispose());
        }
    }

    [LibraryImport("LibTorchSharp", EntryPoint = "THSStorage_data_ptr")]
    private static partial IntPtr StorageDataPtr(IntPtr tensor);
}
