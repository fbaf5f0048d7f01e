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
    /// What every experiment runs with (<see cref="ExperimentRunner"/>): chunks up to 32 MiB come from the heap and up to
    /// 256 MiB of freed heap stays mapped. glibc's default thresholds adapt to the largest chunk freed so far and then
    /// trim the heap whenever a step's activations are freed, so the next step faults the same pages in again: at 32 px,
    /// batch 64, ResNet50 trained at 75-90 images/s with about 55,000 page faults a step, 182-204 with this setting (13,000)
    /// (PyTorch 1.13, default glibc: 99-112), at the same peak RSS (docs/benchmarks.md). Setting either threshold alone
    /// turns glibc's adaptation off for both and is much slower (25 images/s). Where to allocate never changes a result.
    /// </summary>
    public const string Experiments = "mmap_threshold=33554432,trim_threshold=268435456";

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);

    /// <summary>
    /// Applies settings written as <c>key=value</c> pairs separated by commas (<c>mmap_threshold</c>, <c>trim_threshold</c>,
    /// <c>top_pad</c>, <c>arena_max</c>; values in bytes, or a count for arena_max). Returns what glibc accepted; off Linux
    /// (or with another C library) nothing is applied.
    /// </summary>
    public static IReadOnlyList<string> Apply(string settings)
    {
        var applied = new List<string>();
        if (!OperatingSystem.IsLinux() || string.IsNullOrWhiteSpace(settings))
            return applied;
        foreach (var pair in settings.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2);
            int param = parts[0] switch
            {
                "mmap_threshold" => MMmapThreshold,
                "trim_threshold" => MTrimThreshold,
                "top_pad" => MTopPad,
                "arena_max" => MArenaMax,
                _ => throw new ArgumentException($"unknown malloc setting '{parts[0]}' (mmap_threshold, trim_threshold, top_pad, arena_max)"),
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
}
