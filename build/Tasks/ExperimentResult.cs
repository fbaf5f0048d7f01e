using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// One run's result (an experiment, or one seed of a sweep): what produced it (settings, data and code
/// fingerprints, the numerics platform) and its test metrics. Numbers keep metrics.json's own text (fixed
/// decimals) so equal runs give equal bytes.
/// </summary>
internal sealed record ExperimentResult(
    string Name,
    ulong Seed,
    string Dataset,
    string Model,
    string Pretrained,
    string Freeze,
    int Epochs,
    string Device,
    IReadOnlyDictionary<string, string> Fingerprints,
    IReadOnlyDictionary<string, string> Metrics,
    NumericsPlatformRecord Platform)
{
    /// <summary>The metrics compared by VerifyExperiments and shown by DiffExperiments, in display order.</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["accuracy", "loss", "macro_f1", "top5_accuracy", "correct", "images"];

    /// <summary>The metrics summarised over a sweep's seeds and checked statistically across platforms.</summary>
    public static IReadOnlyList<string> SpreadMetricNames { get; } = ["accuracy", "loss", "macro_f1"];

    /// <summary>The fingerprints of one run's settings: the split, train and test stamps.</summary>
    public static IReadOnlyList<string> StampNames { get; } = ["split", "train", "test"];

    /// <summary>Reads a run's output folder (metrics.json and stamps/); null when it has no complete result.</summary>
    public static ExperimentResult? FromOutput(string directory, string codeFingerprint, ulong seed = 1)
    {
        var run = ExperimentLayout.ForRun(directory);
        if (!File.Exists(run.Metrics) || !File.Exists(run.TrainStamp))
            return null;
        var metrics = MetricsFile.Read(run.Metrics);
        using var settings = JsonDocument.Parse(File.ReadAllText(run.TrainStamp));
        var numbers = metrics.Test.Numbers();
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in MetricNames)
            if (numbers.TryGetValue(name, out var v))
                values[name] = v;

        var fingerprints = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["split"] = HashFile(run.SplitStamp),
            ["train"] = HashFile(run.TrainStamp),
            ["test"] = HashFile(run.TestStamp),
            ["data"] = metrics.Data,
            ["code"] = codeFingerprint,
        };
        var s = settings.RootElement;
        return new ExperimentResult(
            metrics.Experiment.Length > 0 ? metrics.Experiment : Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)), seed,
            Text(s, "dataset"), Text(s, "model"), Text(s, "pretrained"), Text(s, "freeze"),
            metrics.Epochs, Text(s, "device"), fingerprints, values, metrics.Platform ?? NumericsPlatformRecord.Unrecorded);
    }

    /// <summary>Seconds the train stage took (training.json), for results.md; never locked since it varies.</summary>
    public static double? TrainSeconds(string directory)
    {
        string path = ExperimentLayout.ForRun(directory).Training;
        return File.Exists(path) ? RunJson.Read<TrainingRecord>(path, "training record").Seconds : null;
    }

    /// <summary>A metric as a number (null when missing).</summary>
    public double? Value(string metric) =>
        Metrics.TryGetValue(metric, out var raw) && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;

    /// <summary>
    /// Hash of the source that computes results: every file under the given folders (bin/ and obj/ excluded)
    /// plus the given files, by relative path and content with '\n' line ends. Source rather than built DLLs,
    /// whose bytes may differ between machines and SDKs.
    /// </summary>
    public static string CodeFingerprint(string root, IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            string full = Path.GetFullPath(Path.Combine(root, p));
            if (File.Exists(full))
                files.Add(full);
            else if (Directory.Exists(full))
                files.AddRange(Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
                    .Where(f => !Path.GetRelativePath(full, f).Split('/', '\\').Any(part => part is "bin" or "obj")));
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files.Select(f => (Relative: Path.GetRelativePath(root, f).Replace('\\', '/'), Full: f)).OrderBy(f => f.Relative, StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(file.Relative + "\n"));
            sha.AppendData(Encoding.UTF8.GetBytes(File.ReadAllText(file.Full).Replace("\r\n", "\n", StringComparison.Ordinal)));
            sha.AppendData([0]);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    /// <summary>Formats a locked number for tables (accuracies as percentages).</summary>
    public static string Display(string metric, string? raw)
    {
        if (raw is null)
            return "—";
        if (metric.EndsWith("accuracy", StringComparison.Ordinal) && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double a))
            return (a * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";
        return raw;
    }

    private static string HashFile(string path) =>
        File.Exists(path) ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))[..16] : "";

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";
}
