using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Repro.Config;
using Repro.Config.IO;

namespace Repro.Build.Tasks;

/// <summary>
/// Makes the copies of TorchSharp's native shim loadable on hosts whose libstdc++ predates GCC 13.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> asks for <c>GLIBCXX_3.4.32</c> only because GCC 13 headers
/// emit a bare marker for <c>std::ios_base_library_init()</c>; no relocation uses it. Marking that need
/// weak (VER_FLG_WEAK) lets the loader accept GCC 12's libstdc++ (Debian 12, Ubuntu 22.04).
/// The package cache is never touched: only the copies in output folders are rewritten, atomically.
/// </remarks>
public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
{
    /// <summary>The copies of libLibTorchSharp.so in output folders.</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = [];

    /// <summary>The symbol version to mark weak when the host's libstdc++ lacks it.</summary>
    public string Version { get; set; } = "GLIBCXX_3.4.32";

    /// <summary>The host's libstdc++; found in the usual library folders when empty.</summary>
    public string? HostLibStdCxx { get; set; }

    /// <summary>The files this task rewrote.</summary>
    [Output]
    public ITaskItem[] PatchedFiles { get; private set; } = [];

    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || Files.Length == 0)
            return true;

        string? host = string.IsNullOrEmpty(HostLibStdCxx) ? FindHostLibStdCxx() : HostLibStdCxx;
        if (host is not null && HostDefines(host, Version))
        {
            Log.LogMessage(MessageImportance.Low, $"Repro: {host} defines {Version}; libLibTorchSharp.so needs no patch.");
            return true;
        }

        var patched = new List<ITaskItem>();
        foreach (var item in Files)
        {
            string path = item.GetMetadata("FullPath");
            try
            {
                byte[] bytes = File.ReadAllBytes(path);
                int changed = ElfVersionNeeds.MarkWeak(bytes, Version, path);
                if (changed == 0)
                {
                    Log.LogMessage(MessageImportance.Low, $"Repro: {path} already accepts a libstdc++ without {Version}.");
                    continue;
                }
                // Keep the copy's timestamp: MSBuild's incremental copy then sees it unchanged and leaves it be.
                var stamp = File.GetLastWriteTimeUtc(path);
                AtomicFile.WriteVia(path, temp =>
                {
                    File.WriteAllBytes(temp, bytes);
                    File.SetLastWriteTimeUtc(temp, stamp);
                });
                patched.Add(item);
                Log.LogMessage(MessageImportance.High,
                    $"Repro: marked {Version} weak in {path} (host libstdc++ {host ?? "not found"} lacks it; -p:ReproPatchLibTorchSharp=false turns this off).");
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentOutOfRangeException)
            {
                Log.LogError(null, ErrorCodes.PatchFailed, null, path, 0, 0, 0, 0, $"cannot patch libLibTorchSharp.so: {e.Message}");
            }
        }
        PatchedFiles = [.. patched];
        return !Log.HasLoggedErrors;
    }

    private static readonly string[] LibraryFolders =
    [
        "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib",
    ];

    private static string? FindHostLibStdCxx() =>
        LibraryFolders.Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);

    /// <summary>A version a library defines appears as a NUL-terminated name in its dynamic string table.</summary>
    internal static bool HostDefines(string library, string version)
    {
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        return File.ReadAllBytes(library).AsSpan().IndexOf(needle) >= 0;
    }
}
