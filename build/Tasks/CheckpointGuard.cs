using System.Globalization;
using System.Text;
using Microsoft.Build.Utilities;

namespace Repro.Build.Tasks;

/// <summary>
/// Keeps a train stage's <c>checkpoint/</c> folder only when it was written from the same inputs, which
/// <c>stamps/checkpoint-inputs.txt</c> records before the stage starts (an interrupted train then resumes).
/// </summary>
internal static class CheckpointGuard
{
    /// <summary>Marker value of an input that the same Slurm job produces before train starts (split.tsv).</summary>
    private const string Pending = "pending";

    /// <summary>
    /// Deletes the checkpoint unless the recorded inputs are the current ones (or <paramref name="discard"/>), then
    /// records the current ones. <paramref name="pending"/> are inputs an earlier stage of the same Slurm job writes:
    /// recorded as pending, and accepted later when the file exists and is newer than the record (the job wrote it).
    /// </summary>
    public static void Apply(TaskLoggingHelper log, string label, string outputDirectory, IEnumerable<string> inputs, bool discard, ISet<string> pending)
    {
        string checkpoint = Path.Combine(outputDirectory, "checkpoint");
        string marker = Path.Combine(outputDirectory, "stamps", "checkpoint-inputs.txt");
        var ordered = inputs.Order(StringComparer.Ordinal).ToList();
        string current = Key(ordered, pending);
        if (Directory.Exists(checkpoint) && (discard || !File.Exists(marker) || !Matches(File.ReadAllText(marker), File.GetLastWriteTimeUtc(marker), current)))
        {
            log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                $"Repro: {label}: discarding the checkpoint ({(discard ? "Force" : "written before the data, settings or code changed")})");
            Directory.Delete(checkpoint, recursive: true);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
        File.WriteAllText(marker, current);
    }

    private static string Key(IEnumerable<string> inputs, ISet<string> pending)
    {
        var key = new StringBuilder();
        foreach (var input in inputs)
        {
            if (pending.Contains(input))
            {
                key.Append(CultureInfo.InvariantCulture, $"{input}\t{Pending}\n");
                continue;
            }
            var info = new FileInfo(input);
            key.Append(CultureInfo.InvariantCulture, $"{input}\t{(info.Exists ? info.Length : -1)}\t{(info.Exists ? info.LastWriteTimeUtc.Ticks : 0)}\n");
        }
        return key.ToString();
    }

    /// <summary>Line by line; a pending line matches a file written after the record was (by the job that had it pending).</summary>
    private static bool Matches(string recorded, DateTime recordedAt, string current)
    {
        var was = recorded.Split('\n');
        var now = current.Split('\n');
        if (was.Length != now.Length)
            return false;
        for (int i = 0; i < was.Length; i++)
        {
            if (was[i] == now[i])
                continue;
            var parts = was[i].Split('\t');
            if (parts.Length != 2 || parts[1] != Pending || !now[i].StartsWith(parts[0] + "\t", StringComparison.Ordinal))
                return false;
            var info = new FileInfo(parts[0]);
            if (!info.Exists || info.LastWriteTimeUtc < recordedAt)
                return false;
        }
        return true;
    }
}
