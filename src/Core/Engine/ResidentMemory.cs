using System.Runtime.InteropServices;

namespace Repro.Core.Engine;

/// <summary>This process's resident memory, measured so that epoch-to-epoch growth means a leak.</summary>
internal static partial class ResidentMemory
{
    /// <summary>
    /// Resident megabytes after handing glibc's free heap pages back to the system: otherwise the figure keeps
    /// the high-water mark of whatever step allocated most, and a flat run looks like a slowly growing one.
    /// </summary>
    public static double Megabytes()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                _ = MallocTrim(0);
            }
            catch (EntryPointNotFoundException)
            {
                // musl and other C libraries without malloc_trim: the untrimmed figure is still an upper bound.
            }
            catch (DllNotFoundException)
            {
            }
        }
        return Environment.WorkingSet / (1024.0 * 1024.0);
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
