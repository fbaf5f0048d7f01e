using System.Text;

namespace Repro.Config.IO;

/// <summary>
/// Writes files so that a reader never sees half of one: content goes to a temporary name beside the
/// target and is renamed over it when complete (rename is atomic within a folder on POSIX and NTFS).
/// The one writer of this kind for the core and the MSBuild tasks alike, hence its place in the shared config assembly.
/// </summary>
public static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, Utf8NoBom.GetBytes(text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes, 0, bytes.Length));

    /// <summary>
    /// Writes <paramref name="text"/> unless the file already holds exactly it, so that the file's timestamp moves only
    /// on change (MSBuild's Inputs/Outputs and readers of committed files take a new timestamp to mean new content).
    /// </summary>
    /// <returns>Whether the file was written.</returns>
    public static bool WriteIfChanged(string path, string text)
    {
        if (File.Exists(path) && File.ReadAllText(path) == text)
            return false;
        WriteAllText(path, text);
        return true;
    }

    /// <summary>Calls <paramref name="write"/> with a stream on a temporary file, then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write) => WriteVia(path, temp =>
    {
        using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        write(stream);
        stream.Flush(flushToDisk: true);
    });

    /// <summary>
    /// Lets a producer that insists on writing to a path (TorchSharp's save, ScottPlot) write to a temporary one,
    /// which is then renamed to <paramref name="path"/>; what the producer sets on the file (its timestamp, say) stays.
    /// </summary>
    public static void WriteVia(string path, Action<string> writeToPath)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = TempName(full);
        try
        {
            writeToPath(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }

    // Hidden, and unique per process and call, so that concurrent writers of one file never share a temporary name.
    private static string TempName(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
}
