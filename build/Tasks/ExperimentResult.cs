using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Repro.Build.Tasks;

/// <summary>
/// One experiment's locked result: what produced it (settings, data and code fingerprints) and its test
/// metrics. Numbers keep metrics.json's own text (fixed decimals) so equal runs give equal bytes.
/// </summary>
internal sealed record ExperimentResult(
    string Name,
    string Dataset,
    string Model,
    string Pretrained,
    string Freeze,
    int Epochs,
    string Device,
    IReadOnlyDictionary<string, string> Fingerprints,
    IReadOnlyDictionary<string, string> Metrics)
{
    /// <summary>The metrics compared by VerifyExperiments and shown by DiffExperiments, in display order.</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["accuracy", "loss", "macro_f1", "top5_accuracy", "correct", "images"];

    /// <summary>The fingerprints a result carries: the stamps' settings, the data read, and the source code.</summary>
    public static IReadOnlyList<string> FingerprintNames { get; } = ["split", "train", "test", "data", "code"];

    /// <summary>Reads an experiment's output folder (metrics.json and stamps/); null when it has no complete result.</summary>
    public static ExperimentResult? FromOutput(string directory, string codeFingerprint)
    {
        string metricsPath = Path.Combine(directory, "metrics.json");
        string trainStamp = Path.Combine(directory, "stamps", "train.json");
        if (!File.Exists(metricsPath) || !File.Exists(trainStamp))
            return null;
        using var metrics = JsonDocument.Parse(File.ReadAllText(metricsPath));
        using var settings = JsonDocument.Parse(File.ReadAllText(trainStamp));
        var root = metrics.RootElement;
        var test = root.GetProperty("test");
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in MetricNames)
            if (test.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number)
                values[name] = v.GetRawText();

        var fingerprints = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["split"] = HashFile(Path.Combine(directory, "stamps", "split.json")),
            ["train"] = HashFile(trainStamp),
            ["test"] = HashFile(Path.Combine(directory, "stamps", "test.json")),
            ["data"] = root.GetProperty("data").GetString() ?? "",
            ["code"] = codeFingerprint,
        };
        var s = settings.RootElement;
        return new ExperimentResult(
            root.GetProperty("experiment").GetString() ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)),
            Text(s, "dataset"), Text(s, "model"), Text(s, "pretrained"), Text(s, "freeze"),
            root.GetProperty("epochs").GetInt32(), Text(s, "device"), fingerprints, values);
    }

    /// <summary>Seconds the train stage took (training.json), for results.md; never locked since it varies.</summary>
    public static double? TrainSeconds(string directory)
    {
        string path = Path.Combine(directory, "training.json");
        if (!File.Exists(path))
            return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.TryGetProperty("Seconds", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetDouble() : null;
    }

    /// <summary>Reads a lock file's text (empty or missing: no entries).</summary>
    public static SortedDictionary<string, ExperimentResult> ReadLock(string? text)
    {
        var results = new SortedDictionary<string, ExperimentResult>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
            return results;
        using var doc = JsonDocument.Parse(text);
        foreach (var e in doc.RootElement.GetProperty("experiments").EnumerateObject())
        {
            var v = e.Value;
            results[e.Name] = new ExperimentResult(e.Name, Text(v, "dataset"), Text(v, "model"), Text(v, "pretrained"), Text(v, "freeze"),
                v.GetProperty("epochs").GetInt32(), Text(v, "device"),
                v.GetProperty("fingerprints").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal),
                v.GetProperty("test").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText(), StringComparer.Ordinal));
        }
        return results;
    }

    /// <summary>The lock file's text: sorted keys, fixed layout, '\n' line ends, so it diffs line by line.</summary>
    public static string WriteLock(IEnumerable<ExperimentResult> results)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", 1);
            json.WriteStartObject("experiments");
            foreach (var r in results.OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject(r.Name);
                json.WriteString("dataset", r.Dataset);
                json.WriteString("model", r.Model);
                json.WriteString("pretrained", r.Pretrained);
                json.WriteString("freeze", r.Freeze);
                json.WriteNumber("epochs", r.Epochs);
                json.WriteString("device", r.Device);
                json.WriteStartObject("fingerprints");
                foreach (var name in FingerprintNames)
                    json.WriteString(name, r.Fingerprints.GetValueOrDefault(name, ""));
                json.WriteEndObject();
                json.WriteStartObject("test");
                foreach (var name in MetricNames.Where(r.Metrics.ContainsKey))
                {
                    json.WritePropertyName(name);
                    json.WriteRawValue(r.Metrics[name], skipInputValidation: true);
                }
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
    }

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
