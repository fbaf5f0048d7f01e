using System.Globalization;
using System.Text;

namespace Repro.Config;

/// <summary>One seed's test metrics, per-epoch history, and (first seed only) per-class rows and confusion matrix.</summary>
/// <param name="Metrics">Test metrics by <see cref="Metric"/> key, as metrics.json writes them.</param>
/// <param name="History">Per epoch: epoch, train_loss, train_accuracy, validation_loss, validation_accuracy, lr (metrics.json's text).</param>
public sealed record SnapshotRun(ulong Seed, IReadOnlyDictionary<string, string> Metrics, IReadOnlyList<IReadOnlyDictionary<string, string>> History);

/// <summary>One class of the per-class table: images, correct, accuracy, precision, F1 as metrics.json writes them.</summary>
public sealed record SnapshotClass(string Name, IReadOnlyDictionary<string, string> Values);

/// <summary>
/// results/&lt;experiment&gt;.md, the committed snapshot of one locked experiment: its configuration (the train stamp's
/// settings), test metrics per seed (with mean ± std for a sweep), the per-class table and confusion matrix of the
/// first seed, and every seed's per-epoch history. Numbers keep metrics.json's fixed-decimal text, and there are no
/// timings, paths or dates, so the file changes exactly when a result does and its git diff is the review. It is
/// also read back: DiffExperiments takes the base side of its plots and per-class deltas from the snapshot at the
/// base revision, so nothing re-runs. For a sweep the per-class table and the matrix are the first seed's (a real
/// model's predictions, and the seed VerifyExperiments re-runs) rather than a sum over seeds.
/// </summary>
public sealed record ResultsSnapshot(
    string Experiment,
    string Platform,
    IReadOnlyList<KeyValuePair<string, string>> Settings,
    IReadOnlyList<SnapshotRun> Runs,
    IReadOnlyList<SnapshotClass> Classes,
    long[,] Confusion)
{
    /// <summary>The test metrics' columns, in order: <see cref="Metric.All"/>'s keys.</summary>
    public static IReadOnlyList<string> MetricColumns { get; } = [.. Metric.All.Select(m => m.Key)];

    /// <summary>The per-class table's columns after the class name.</summary>
    public static IReadOnlyList<string> ClassColumns { get; } = ["images", "correct", "accuracy", "precision", "f1"];

    /// <summary>The history table's columns after the seed.</summary>
    public static IReadOnlyList<string> HistoryColumns { get; } = ["epoch", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "lr"];

    private const string SettingsHeading = "## Configuration";
    private const string MetricsHeading = "## Test metrics";
    private const string ClassesHeading = "## Per class";
    private const string ConfusionHeading = "## Confusion matrix";
    private const string HistoryHeading = "## History";

    /// <summary>The markdown, LF line ends.</summary>
    public string Render()
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# {Experiment}\n\n");
        md.Append("Locked results, written by `dotnet build -t:RunExperiments` beside experiments.lock.json; regenerated, never edited.\n\n");
        md.Append(CultureInfo.InvariantCulture, $"Numerics platform: `{Platform}`. Seeds: {string.Join(", ", Runs.Select(r => r.Seed))}.\n\n");

        md.Append(SettingsHeading).Append("\n\n| setting | value |\n|---|---|\n");
        foreach (var (key, value) in Settings)
            md.Append(CultureInfo.InvariantCulture, $"| {key} | {Cell(value)} |\n");

        md.Append('\n').Append(MetricsHeading).Append("\n\n| seed | ").Append(string.Join(" | ", MetricColumns)).Append(" |\n|---|")
            .Append(string.Concat(MetricColumns.Select(_ => "---|"))).Append('\n');
        foreach (var run in Runs)
            md.Append(CultureInfo.InvariantCulture, $"| {run.Seed} | {string.Join(" | ", MetricColumns.Select(c => run.Metrics.GetValueOrDefault(c) ?? "—"))} |\n");
        if (Runs.Count > 1)
        {
            // Mean ± sample standard deviation with metrics.json's own six decimals; the image counts have no spread to show.
            var cells = MetricColumns.Select(c => c is "correct" or "images" ? "—" : Spread(Runs.Select(r => r.Metrics.GetValueOrDefault(c)).ToList()));
            md.Append(CultureInfo.InvariantCulture, $"| mean ± std | {string.Join(" | ", cells)} |\n");
        }

        string first = Runs.Count > 1 ? $" (seed {Runs[0].Seed})" : "";
        md.Append('\n').Append(ClassesHeading).Append(first).Append("\n\n| class | ").Append(string.Join(" | ", ClassColumns)).Append(" |\n|---|")
            .Append(string.Concat(ClassColumns.Select(_ => "---|"))).Append('\n');
        foreach (var c in Classes)
            md.Append(CultureInfo.InvariantCulture, $"| {Cell(c.Name)} | {string.Join(" | ", ClassColumns.Select(k => c.Values.GetValueOrDefault(k) ?? "—"))} |\n");

        md.Append('\n').Append(ConfusionHeading).Append(first).Append(", rows: true class, columns: predicted\n\n| true \\ predicted | ")
            .Append(string.Join(" | ", Classes.Select(c => Cell(c.Name)))).Append(" |\n|---|").Append(string.Concat(Classes.Select(_ => "---|"))).Append('\n');
        for (int r = 0; r < Classes.Count; r++)
            md.Append(CultureInfo.InvariantCulture, $"| {Cell(Classes[r].Name)} | {string.Join(" | ", Enumerable.Range(0, Classes.Count).Select(c => Confusion[r, c].ToString(CultureInfo.InvariantCulture)))} |\n");

        md.Append('\n').Append(HistoryHeading).Append("\n\n| seed | ").Append(string.Join(" | ", HistoryColumns)).Append(" |\n|---|")
            .Append(string.Concat(HistoryColumns.Select(_ => "---|"))).Append('\n');
        foreach (var run in Runs)
            foreach (var epoch in run.History)
                md.Append(CultureInfo.InvariantCulture, $"| {run.Seed} | {string.Join(" | ", HistoryColumns.Select(c => epoch.GetValueOrDefault(c) ?? "—"))} |\n");
        return md.ToString();
    }

    /// <summary>Reads a snapshot written by <see cref="Render"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not such a snapshot.</exception>
    public static ResultsSnapshot Parse(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        string experiment = lines.FirstOrDefault(l => l.StartsWith("# ", StringComparison.Ordinal))?[2..].Trim()
            ?? throw new InvalidDataException("not a results snapshot: no '# <experiment>' title");
        string platform = lines.FirstOrDefault(l => l.StartsWith("Numerics platform: `", StringComparison.Ordinal)) is { } p
            ? p["Numerics platform: `".Length..p.IndexOf('`', "Numerics platform: `".Length)] : "";

        var settings = Table(lines, SettingsHeading).Select(r => new KeyValuePair<string, string>(r[0], Uncell(r[1]))).ToList();
        var metrics = new Dictionary<ulong, Dictionary<string, string>>();
        var order = new List<ulong>();
        foreach (var row in Table(lines, MetricsHeading).Where(r => r[0] != "mean ± std"))
        {
            ulong seed = ulong.Parse(row[0], CultureInfo.InvariantCulture);
            order.Add(seed);
            metrics[seed] = Row(MetricColumns, row.Skip(1));
        }
        var history = order.ToDictionary(s => s, _ => new List<IReadOnlyDictionary<string, string>>());
        foreach (var row in Table(lines, HistoryHeading))
            if (history.TryGetValue(ulong.Parse(row[0], CultureInfo.InvariantCulture), out var list))
                list.Add(Row(HistoryColumns, row.Skip(1)));
        var classes = Table(lines, ClassesHeading).Select(r => new SnapshotClass(Uncell(r[0]), Row(ClassColumns, r.Skip(1)))).ToList();
        var matrix = Table(lines, ConfusionHeading);
        var confusion = new long[classes.Count, classes.Count];
        if (matrix.Count != classes.Count || matrix.Any(r => r.Count != classes.Count + 1))
            throw new InvalidDataException($"results snapshot of '{experiment}': the confusion matrix is not {classes.Count} x {classes.Count}");
        for (int r = 0; r < classes.Count; r++)
            for (int c = 0; c < classes.Count; c++)
                confusion[r, c] = long.Parse(matrix[r][c + 1], CultureInfo.InvariantCulture);
        var runs = order.Select(s => new SnapshotRun(s, metrics[s], history[s])).ToList();
        return new ResultsSnapshot(experiment, platform, settings, runs, classes, confusion);
    }

    private static Dictionary<string, string> Row(IReadOnlyList<string> columns, IEnumerable<string> cells) =>
        columns.Zip(cells).Where(p => p.Second != "—").ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);

    /// <summary>The body rows of the first table under the heading that starts with <paramref name="heading"/>, as cells.</summary>
    private static List<List<string>> Table(string[] lines, string heading)
    {
        int at = Array.FindIndex(lines, l => l.StartsWith(heading, StringComparison.Ordinal));
        if (at < 0)
            throw new InvalidDataException($"not a results snapshot: no '{heading}' section");
        var rows = new List<List<string>>();
        int i = at + 1;
        while (i < lines.Length && !lines[i].StartsWith('|'))
            i++;
        for (i += 2; i < lines.Length && lines[i].StartsWith('|'); i++)
            rows.Add([.. SplitRow(lines[i])]);
        return rows;
    }

    // Cells are separated by unescaped '|'; Cell() escapes a '|' inside a value as '\|'.
    private static IEnumerable<string> SplitRow(string line)
    {
        var cell = new StringBuilder();
        var cells = new List<string>();
        for (int i = 1; i < line.Length; i++)
        {
            if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] == '|')
            {
                cell.Append("\\|");
                i++;
            }
            else if (line[i] == '|')
            {
                cells.Add(cell.ToString().Trim());
                cell.Clear();
            }
            else
            {
                cell.Append(line[i]);
            }
        }
        return cells;
    }

    private static string Cell(string value) => value.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string Uncell(string value) => value.Replace("\\|", "|", StringComparison.Ordinal);

    private static string Spread(IReadOnlyList<string?> raw)
    {
        var values = raw.Where(v => v is not null).Select(v => double.Parse(v!, CultureInfo.InvariantCulture)).ToList();
        if (values.Count < 2)
            return "—";
        double mean = values.Average();
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return $"{mean.ToString("F6", CultureInfo.InvariantCulture)} ± {std.ToString("F6", CultureInfo.InvariantCulture)}";
    }
}
