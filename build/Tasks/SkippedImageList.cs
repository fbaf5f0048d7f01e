using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>The images <c>skip_corrupt</c> left out of a run, as its metrics.json records them.</summary>
internal static class SkippedImageList
{
    /// <summary>The skipped files of the run in <paramref name="directory"/>; empty when it has none (or no metrics.json).</summary>
    public static IReadOnlyList<string> FromOutput(string directory)
    {
        string path = ExperimentLayout.ForRun(directory).Metrics;
        return File.Exists(path) ? MetricsFile.Read(path).Skipped : [];
    }
}
