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
