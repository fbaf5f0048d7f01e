using System.Text.Json;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>The images <c>skip_corrupt</c> left out of a run, as its metrics.json records them.</summary>
internal static class SkippedImageList
{
    /// <summary>The <c>"skipped"</c> files of <paramref name="directory"/>'s metrics.json; empty when it has none (or no file).</summary>
    public static IReadOnlyList<string> FromOutput(string directory)
    {
        string path = ExperimentLayout.ForRun(directory).Metrics;
        if (!File.Exists(path))
            return [];
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (!doc.RootElement.TryGetProperty("skipped", out var skipped) || skipped.ValueKind != JsonValueKind.Object
            || !skipped.TryGetProperty("files", out var files) || files.ValueKind != JsonValueKind.Array)
            return [];
        return [.. files.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()!)];
    }
}
