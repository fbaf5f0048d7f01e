using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Repro.Config;

/// <summary>One class's test results (metrics.json <c>test.per_class</c>).</summary>
public sealed record ClassResult(string Class, long Images, long Correct, double Accuracy, double Precision, double F1)
{
    /// <summary>The numbers in metrics.json's text, by key.</summary>
    public IReadOnlyDictionary<string, string> Numbers() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["images"] = MetricsFile.Integer(Images),
        ["correct"] = MetricsFile.Integer(Correct),
        ["accuracy"] = MetricsFile.Number(Accuracy),
        ["precision"] = MetricsFile.Number(Precision),
        ["f1"] = MetricsFile.Number(F1),
    };
}

/// <summary>The test split's results (metrics.json <c>test</c>).</summary>
/// <param name="Top5Accuracy">Only with more than five classes.</param>
/// <param name="Confusion">Rows: true class; columns: predicted class.</param>
public sealed record TestResult(long Images, long Correct, double Loss, double Accuracy, double? Top5Accuracy, double MacroF1,
    IReadOnlyList<ClassResult> PerClass, IReadOnlyList<IReadOnlyList<long>> Confusion)
{
    /// <summary>The summary numbers in metrics.json's text, by key; a non-finite one (no test images) is left out.</summary>
    public IReadOnlyDictionary<string, string> Numbers()
    {
        var numbers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["images"] = MetricsFile.Integer(Images),
            ["correct"] = MetricsFile.Integer(Correct),
        };
        foreach (var (key, value) in new[] { ("loss", Loss), ("accuracy", Accuracy), ("top5_accuracy", Top5Accuracy ?? double.NaN), ("macro_f1", MacroF1) })
            if (double.IsFinite(value))
                numbers[key] = MetricsFile.Number(value);
        return numbers;
    }
}

/// <summary>One epoch of training as metrics.json keeps it (no timings: those vary between equal runs).</summary>
public sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy, double LearningRate)
{
    /// <summary>The numbers in metrics.json's text, by key.</summary>
    public IReadOnlyDictionary<string, string> Numbers() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["epoch"] = MetricsFile.Integer(Epoch),
        ["train_loss"] = MetricsFile.Number(TrainLoss),
        ["train_accuracy"] = MetricsFile.Number(TrainAccuracy),
        ["validation_loss"] = MetricsFile.Number(ValidationLoss),
        ["validation_accuracy"] = MetricsFile.Number(ValidationAccuracy),
        ["lr"] = MetricsFile.Number(LearningRate, MetricsFile.LearningRateDecimals),
    };
}

/// <summary>
/// metrics.json, a run's locked result: fixed key order and fixed precision (6 decimals), no timings or paths, so two
/// runs of the same experiment give the same bytes and a change shows as a one-line diff. Written by the host's test
/// stage and read by the build's tasks, both through this record.
/// </summary>
/// <param name="Config">The train fingerprint.</param>
/// <param name="Data">The split manifest's hash (16 digits).</param>
/// <param name="Skipped">Images <c>skip_corrupt</c> left out (paths relative to the dataset root); written only when
/// there are any, so the file of a dataset without unreadable images keeps its format (and its bytes).</param>
/// <param name="Platform">The numerics platform the test ran on; left out when null.</param>
/// <param name="Seed">The run's seed (a sweep's seed for one of its runs); null in files written before it was recorded.</param>
/// <param name="Layout">The input layout the convolutions used (channels_last, unless the CPU refused it); null in older files.</param>
public sealed record MetricsFile(string Experiment, string Config, string Data, IReadOnlyList<string> Skipped, int Epochs,
    NumericsPlatformRecord? Platform, TestResult Test, IReadOnlyList<EpochResult> History, ulong? Seed = null, InputLayout? Layout = null)
{
    public const int Decimals = 6;

    public const int LearningRateDecimals = 10;

    /// <summary>A number as metrics.json writes it: fixed decimals, invariant; <c>null</c> when not finite.</summary>
    public static string Number(double value, int decimals = Decimals) =>
        double.IsFinite(value) ? value.ToString("F" + decimals, CultureInfo.InvariantCulture) : "null";

    public static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    public string ToJson()
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            WriteRun(json);
            WriteTest(json);
            WriteHistory(json);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>What ran: the experiment, seed, fingerprints, skipped images, epochs, layout and platform.</summary>
    private void WriteRun(Utf8JsonWriter json)
    {
        json.WriteString("experiment", Experiment);
        if (Seed is { } seed)
            json.WriteNumber("seed", seed);
        json.WriteString("config", Config);
        json.WriteString("data", Data);
        if (Skipped.Count > 0)
        {
            json.WriteStartObject("skipped");
            json.WriteNumber("count", Skipped.Count);
            json.WriteStartArray("files");
            foreach (var file in Skipped.Order(StringComparer.Ordinal))
                json.WriteStringValue(file);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteNumber("epochs", Epochs);
        if (Layout is { } layout)
            json.WriteString("layout", Choice.Name(layout));
        if (Platform is not null)
        {
            json.WritePropertyName("platform");
            Platform.Write(json);
        }
    }

    private void WriteTest(Utf8JsonWriter json)
    {
        json.WriteStartObject("test");
        json.WriteNumber("images", Test.Images);
        json.WriteNumber("correct", Test.Correct);
        Raw(json, "loss", Number(Test.Loss));
        Raw(json, "accuracy", Number(Test.Accuracy));
        if (Test.Top5Accuracy is { } top5)
            Raw(json, "top5_accuracy", Number(top5));
        Raw(json, "macro_f1", Number(Test.MacroF1));
        json.WriteStartArray("per_class");
        foreach (var c in Test.PerClass)
        {
            json.WriteStartObject();
            json.WriteString("class", c.Class);
            json.WriteNumber("images", c.Images);
            json.WriteNumber("correct", c.Correct);
            Raw(json, "accuracy", Number(c.Accuracy));
            Raw(json, "precision", Number(c.Precision));
            Raw(json, "f1", Number(c.F1));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("confusion");
        foreach (var row in Test.Confusion)
            json.WriteRawValue($"[{string.Join(", ", row.Select(Integer))}]");
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private void WriteHistory(Utf8JsonWriter json)
    {
        json.WriteStartArray("history");
        foreach (var h in History)
        {
            json.WriteStartObject();
            json.WriteNumber("epoch", h.Epoch);
            Raw(json, "train_loss", Number(h.TrainLoss));
            Raw(json, "train_accuracy", Number(h.TrainAccuracy));
            Raw(json, "validation_loss", Number(h.ValidationLoss));
            Raw(json, "validation_accuracy", Number(h.ValidationAccuracy));
            Raw(json, "lr", Number(h.LearningRate, LearningRateDecimals));
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void Raw(Utf8JsonWriter json, string name, string text)
    {
        json.WritePropertyName(name);
        json.WriteRawValue(text, skipInputValidation: true);
    }

    /// <summary>Reads a run's metrics.json; a missing or malformed file is an <see cref="InvalidDataException"/> naming it.</summary>
    public static MetricsFile Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: metrics.json missing.", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            var test = root.GetProperty("test");
            var skipped = root.TryGetProperty("skipped", out var s) && s.TryGetProperty("files", out var files)
                ? files.EnumerateArray().Select(f => f.GetString() ?? "").ToArray() : [];
            var platform = root.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object ? NumericsPlatformRecord.FromJson(p) : null;
            var perClass = test.TryGetProperty("per_class", out var pc)
                ? pc.EnumerateArray().Select(c => new ClassResult(c.GetProperty("class").GetString() ?? "", c.GetProperty("images").GetInt64(),
                    c.GetProperty("correct").GetInt64(), Double(c, "accuracy"), Double(c, "precision"), Double(c, "f1"))).ToArray()
                : [];
            var confusion = test.TryGetProperty("confusion", out var m)
                ? m.EnumerateArray().Select(row => (IReadOnlyList<long>)row.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray()
                : [];
            var history = root.TryGetProperty("history", out var h)
                ? h.EnumerateArray().Select(e => new EpochResult(e.GetProperty("epoch").GetInt32(), Double(e, "train_loss"), Double(e, "train_accuracy"),
                    Double(e, "validation_loss"), Double(e, "validation_accuracy"), Double(e, "lr"))).ToArray()
                : [];
            return new MetricsFile(
                root.GetProperty("experiment").GetString() ?? "", root.GetProperty("config").GetString() ?? "", root.GetProperty("data").GetString() ?? "",
                skipped, root.GetProperty("epochs").GetInt32(), platform,
                new TestResult(test.GetProperty("images").GetInt64(), test.GetProperty("correct").GetInt64(), Double(test, "loss"), Double(test, "accuracy"),
                    test.TryGetProperty("top5_accuracy", out var t5) && t5.ValueKind == JsonValueKind.Number ? t5.GetDouble() : null,
                    Double(test, "macro_f1"), perClass, confusion),
                history,
                root.TryGetProperty("seed", out var seed) && seed.ValueKind == JsonValueKind.Number ? seed.GetUInt64() : null,
                root.TryGetProperty("layout", out var layout) && layout.ValueKind == JsonValueKind.String ? Choice.Parse<InputLayout>(layout.GetString() ?? "") : null);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a Repro metrics.json ({e.Message}).", e);
        }
    }

    private static double Double(JsonElement element, string key) =>
        element.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
}
