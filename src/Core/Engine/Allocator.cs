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
    /// What every experiment runs with (<see cref="ExperimentRunner"/>). Chunks under 8 MiB come from the heap and up to
    /// 256 MiB of freed heap stays mapped: glibc's default thresholds adapt to the largest chunk freed so far and then
    /// trim the heap whenever a step's activations are freed, so the next step faults the same pages in again (at 32 px,
    /// batch 64, ResNet50 trained at 75-90 images/s with glibc's defaults, 182-204 with the heap kept; PyTorch 1.13:
    /// 99-112). Setting either threshold alone turns glibc's adaptation off for both and is much slower (25 images/s).
    /// Larger chunks (224 px activations) are mapped afresh each step, so that a fragmented heap does not hold them, and
    /// with <c>torch_thp</c> LibTorch asks for transparent huge pages on them: a 2 MiB page faults in once where 512 small
    /// ones did (ResNet50 training at 224 px, batch 32: 1.9-2.4 images/s at 4.4-4.7 GB peak RSS without huge pages,
    /// about 4 at 3.4 GB with; PyTorch 1.13: 1.7-1.9 at 3.8-3.9 GB). Where memory comes from never changes a result.
    /// docs/benchmarks.md has the figures.
    /// </summary>
    public const string Experiments = "mmap_threshold=8388608,trim_threshold=268435456,torch_thp=1";

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
