using System.Text;

namespace Repro.Core.IO;

/// <summary>
/// Writes files so that a reader never sees half of one: content goes to a temporary name beside the
/// target and is renamed over it when complete (rename is atomic within a folder on POSIX and NTFS).
/// </summary>
public static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    public static void WriteAllText(string path, string text) => Write(path, s =>
    {
        var bytes = Utf8NoBom.GetBytes(text);
        s.Write(bytes, 0, bytes.Length);
    });

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes, 0, bytes.Length));

    /// <summary>Calls <paramref name="write"/> with a stream on a temporary file, then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = TempName(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }

    /// <summary>Lets a producer that insists on writing to a path (TorchSharp's save) write to a temporary one.</summary>
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

    private static string TempName(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
}
