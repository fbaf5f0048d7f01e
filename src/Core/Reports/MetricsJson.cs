using System.Globalization;
using System.Text;
using System.Text.Json;
using Repro.Config;
using Repro.Core.Engine;

namespace Repro.Core.Reports;

/// <summary>
/// metrics.json: fixed key order and fixed precision (6 decimals), no timings or paths, so two runs of the
/// same experiment give the same bytes and a change shows as a one-line diff.
/// </summary>
public static class MetricsJson
{
    public const int Decimals = 6;

    /// <param name="platform">The numerics platform the test ran on (<see cref="NumericsPlatform"/>): written after
    /// "epochs" as <c>"platform": {"id": …, fields sorted by key}</c>; left out when null.</param>
    /// <param name="skipped">Images <c>skip_corrupt</c> left out (paths relative to the dataset root): written after
    /// "data" as <c>"skipped": {"count": n, "files": [all, ordinal order]}</c>, and only when there are any, so that
    /// the file of a dataset without unreadable images keeps its format (and its bytes).</param>
    public static string Write(string experiment, string configFingerprint, string dataFingerprint, TestMetrics test, IReadOnlyList<EpochRecord> history,
        NumericsPlatform? platform = null, IReadOnlyCollection<string>? skipped = null)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("experiment", experiment);
            json.WriteString("config", configFingerprint);
            json.WriteString("data", dataFingerprint);
            if (skipped is { Count: > 0 })
            {
                json.WriteStartObject("skipped");
                json.WriteNumber("count", skipped.Count);
                json.WriteStartArray("files");
                foreach (var file in skipped.Order(StringComparer.Ordinal))
                    json.WriteStringValue(file);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteNumber("epochs", history.Count);
            platform?.WriteJson(json, "platform");
            json.WriteStartObject("test");
            json.WriteNumber("images", test.Count);
            json.WriteNumber("correct", test.Correct);
            Number(json, "loss", test.Loss);
            Number(json, "accuracy", test.Accuracy);
            if (test.Top5Accuracy is { } top5)
                Number(json, "top5_accuracy", top5);
            Number(json, "macro_f1", test.MacroF1);
            json.WriteStartArray("per_class");
            foreach (var c in test.PerClass)
            {
                json.WriteStartObject();
                json.WriteString("class", c.Name);
                json.WriteNumber("images", c.Count);
                json.WriteNumber("correct", c.Correct);
                Number(json, "accuracy", c.Accuracy);
                Number(json, "precision", c.Precision);
                Number(json, "f1", c.F1);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("confusion");
            for (int r = 0; r < test.Classes.Count; r++)
            {
                var row = string.Join(", ", Enumerable.Range(0, test.Classes.Count).Select(c => test.Confusion[r, c].ToString(CultureInfo.InvariantCulture)));
                json.WriteRawValue($"[{row}]");
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartArray("history");
            foreach (var h in history)
            {
                json.WriteStartObject();
                json.WriteNumber("epoch", h.Epoch);
                Number(json, "train_loss", h.TrainLoss);
                Number(json, "train_accuracy", h.TrainAccuracy);
                Number(json, "validation_loss", h.ValidationLoss);
                Number(json, "validation_accuracy", h.ValidationAccuracy);
                Number(json, "lr", h.LearningRate, 10);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void Number(Utf8JsonWriter json, string name, double value, int decimals = Decimals)
    {
        json.WritePropertyName(name);
        if (double.IsFinite(value))
            json.WriteRawValue(value.ToString("F" + decimals, CultureInfo.InvariantCulture), skipInputValidation: true);
        else
            json.WriteNullValue();
    }
}
