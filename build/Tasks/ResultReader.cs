using System.Globalization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>How the results tasks read a run item's result: <see cref="RunResult.Read"/>, with a missing or unreadable one logged.</summary>
internal static class ResultReader
{
    /// <summary>The result in the item's OutputDirectory; null when it has none (REPRO300) or its files are unreadable (REPRO303), both logged.</summary>
    public static RunResult? Require(TaskLoggingHelper log, ITaskItem item)
    {
        string directory = item.GetMetadata("OutputDirectory");
        try
        {
            if (RunResult.Read(directory) is { } run)
                return run;
            int line = int.TryParse(item.GetMetadata("Line"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int l) ? l : 0;
            log.LogError("Repro", ErrorCodes.NoCompleteResult, null, item.GetMetadata("ConfigFile"), line, 0, 0, 0,
                $"experiment '{item.ItemSpec}' has no complete result in {directory} (metrics.json missing)");
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            log.LogError("Repro", ErrorCodes.UnreadableResult, null, ExperimentLayout.ForRun(directory).Metrics, 0, 0, 0, 0, e.Message);
        }
        return null;
    }

    /// <summary>The results of every item, or null when any is missing or unreadable (each logged).</summary>
    public static IReadOnlyList<RunResult>? RequireAll(TaskLoggingHelper log, IEnumerable<ITaskItem> items)
    {
        var runs = items.Select(i => Require(log, i)).ToList();
        return runs.Any(r => r is null) ? null : [.. runs.OfType<RunResult>()];
    }
}
