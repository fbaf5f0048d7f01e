using System.Runtime.InteropServices;

namespace Repro.Core.Engine;

/// <summary>A second name for a file's bytes: a hard link where the file system has them, else a copy.</summary>
internal static partial class FileLink
{
    /// <summary>
    /// Makes <paramref name="path"/> hold <paramref name="source"/>'s bytes, atomically (a temporary name renamed over
    /// it, as <see cref="Repro.Config.IO.AtomicFile"/> writes), and gives it the current time as its write time: MSBuild
    /// reads a stage's outputs by their times, and a link shares the time of a file written earlier.
    /// </summary>
    /// <returns>Whether it is a hard link (the bytes are on disk once); false: a copy.</returns>
    public static bool LinkOrCopy(string source, string path)
    {
        bool linked = false;
        Repro.Config.IO.AtomicFile.WriteVia(path, temp =>
        {
            linked = TryLink(source, temp);
            if (!linked)
                File.Copy(source, temp);
        });
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
        return linked;
    }

    // POSIX link(2) and Win32 CreateHardLinkW fail on file systems without hard links (FAT, some network shares) and
    // across devices; the caller copies then.
    private static bool TryLink(string source, string path)
    {
        try
        {
            return OperatingSystem.IsWindows() ? CreateHardLink(path, source, IntPtr.Zero) : Link(source, path) == 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string created);

    [LibraryImport("kernel32", EntryPoint = "CreateHardLinkW", StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool CreateHardLink(string created, string existing, IntPtr reserved);
}
