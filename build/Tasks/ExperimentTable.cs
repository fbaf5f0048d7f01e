using System.Globalization;
using System.Text;
using System.Text.Json;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>One row of ShowExperiments: an experiment or variant, its runs' results, its status and its change against the lock.</summary>
/// <param name="Declared">Whether experiments.yaml declares it (else it is a variant, or left in artifacts/ from an older file).</param>
internal sealed record ExperimentRow(string Name, ExperimentSpec Spec, bool Declared, IReadOnlyList<RunResult> Results, string Status, string DeltaVsLock)
{
    public SeedStatistics Stats(Metric metric) => ResultsReport.Stats(Results, metric);
}

/// <summary>
/// ShowExperiments' table, `dvc exp show` for Repro: every experiment experiments.yaml declares and every variant or
/// experiment artifacts/ holds, with the settings that differ between the rows shown, the test metrics over the seeds
/// that finished, whether each is up to date (decided as the stage targets decide it: a stamp whose content changed,
/// an output missing, or an input newer than an output) and its change against the lock. It reads files and never runs
/// a stage.
/// </summary>
internal static class ExperimentTable
{
    /// <summary>The rows for <paramref name="declared"/> (in file order) and the runs under <paramref name="artifactsDirectory"/> that none declares.</summary>
    public static List<ExperimentRow> Rows(ExperimentsFile file, string artifactsDirectory, IReadOnlyDictionary<string, LockEntry> locked, IReadOnlyList<string> tools)
    {
        var rows = file.Experiments.Select(e => Row(e, true, [.. e.Seeds.Select(s => ScheduledRun.Create(file.Path, e, e.IsSweep ? s : null, artifactsDirectory))], locked, tools)).ToList();
        string root = ExperimentLayout.ExperimentsRoot(artifactsDirectory);
        if (!Directory.Exists(root))
            return rows;
        var declared = rows.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var others = new List<ExperimentRow>();
        foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal).Where(d => !declared.Contains(Path.GetFileName(d))))
        {
            var layout = ExperimentLayout.ForRun(dir);
            var runDirs = layout.SeedRuns().Select(s => s.Run.Directory).DefaultIfEmpty(layout.Directory);
            var runs = runDirs.Where(d => File.Exists(ExperimentLayout.ForRun(d).RunStamp)).Select(d => ScheduledRun.Read(ExperimentLayout.ForRun(d).RunStamp).WithOutput(d)).ToList();
            if (runs.Count > 0)
                others.Add(Row(runs[0].Spec, false, runs, locked, tools));
        }
        // Each variant right after the experiment it varies; the rest (experiments no longer declared) at the end.
        var ordered = new List<ExperimentRow>();
        foreach (var row in rows)
        {
            ordered.Add(row);
            ordered.AddRange(others.Where(o => ExperimentVariant.IsVariant(o.Name) && ExperimentVariant.ParentOf(o.Name) == row.Name));
        }
        ordered.AddRange(others.Where(o => !ordered.Contains(o)));
        return ordered;
    }

    private static ExperimentRow Row(ExperimentSpec spec, bool declared, IReadOnlyList<ScheduledRun> runs, IReadOnlyDictionary<string, LockEntry> locked, IReadOnlyList<string> tools)
    {
        var results = runs.Select(r => Read(r.RunDirectory)).OfType<RunResult>().ToList();
        var statuses = runs.Select(r => (Run: r, Status: Status(r, tools))).ToList();
        string status = statuses.All(s => s.Status == "never run") ? "never run"
            : statuses.FirstOrDefault(s => s.Status != "up to date") is { Run: { } first, Status: { } other } ? (runs.Count > 1 ? $"{ExperimentLayout.RunFolder(first.Spec.Seed)}: {other}" : other)
            : "up to date";
        if (!declared && !ExperimentVariant.IsVariant(spec.Name))
            status = "not in experiments.yaml";
        // A variant is not locked itself (unless -p:ReproLockVariants=true): it compares with its parent's locked results.
        var entry = locked.GetValueOrDefault(spec.Name);
        bool parent = entry is null && ExperimentVariant.IsVariant(spec.Name) && locked.ContainsKey(ExperimentVariant.ParentOf(spec.Name));
        entry ??= locked.GetValueOrDefault(ExperimentVariant.ParentOf(spec.Name));
        string delta = results.Count == 0 ? "" : ResultsReport.DeltaVsLock(entry, ResultsReport.Stats(results, Metric.Accuracy), results[0].Platform.Id) + (parent ? " (vs parent)" : "");
        return new ExperimentRow(spec.Name, spec, declared, results, status, delta);
    }

    private static RunResult? Read(string directory)
    {
        try
        {
            return RunResult.Read(directory);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            return null; // an unreadable result shows as missing; the stage that wrote it is then stale
        }
    }

    /// <summary>
    /// A run's state as RunExperiments would find it: "failed (stage)" after a failed stage, "never run", "stale from
    /// &lt;stage&gt;" when that stage's stamp differs from the settings, an output is missing or an input (stamp, the stage
    /// before's output, the data, pretrained weights, the built tools) is newer than it; otherwise "up to date".
    /// </summary>
    internal static string Status(ScheduledRun run, IReadOnlyList<string> tools)
    {
        var layout = run.Layout;
        if (File.Exists(layout.Failure))
            return $"failed ({File.ReadLines(layout.Failure).FirstOrDefault()})";
        if (!File.Exists(layout.SplitStamp) && !File.Exists(layout.SplitManifest))
            return "never run";
        DateTime newestTool = tools.Where(File.Exists).Select(File.GetLastWriteTimeUtc).DefaultIfEmpty(DateTime.MinValue).Max();
        string? previous = null;
        foreach (var stage in RunResult.StampedStages)
        {
            string output = stage switch { Stage.Split => layout.SplitManifest, Stage.Train => layout.Training, _ => layout.Metrics };
            string stamp = layout.StageStamp(stage);
            var inputs = new List<string> { stamp };
            if (previous is not null)
                inputs.Add(previous);
            if (stage == Stage.Split)
                inputs.Add(layout.DataStamp);
            if (stage == Stage.Train && run.Spec.Model.Pretrained is { } weights && weights != ModelSpec.ImageNetWeights)
                inputs.Add(weights);
            bool changed = !File.Exists(stamp) || File.ReadAllText(stamp) != run.Canonical(stage)
                || (stage == Stage.Split && (!File.Exists(layout.DataStamp) || File.ReadAllText(layout.DataStamp) != ReadExperiments.DataListing(run.Spec.Dataset.Root)));
            if (!File.Exists(output) || changed)
                return $"stale from {RunResult.StageName(stage)}";
            DateTime built = File.GetLastWriteTimeUtc(output);
            if (newestTool > built || inputs.Where(File.Exists).Any(i => File.GetLastWriteTimeUtc(i) > built))
                return $"stale from {RunResult.StageName(stage)}";
            previous = output;
        }
        return "up to date";
    }

    /// <summary>Each row's settings that affect results, by key, as experiments.yaml would write them.</summary>
    public static IReadOnlyDictionary<string, string> Settings(ExperimentSpec spec, string baseDirectory) =>
        Schema.ExperimentKeys.Where(k => k.Stages != Stage.None).ToDictionary(k => k.Key, k => Text(k.Read(spec), k, baseDirectory), StringComparer.Ordinal);

    private static string Text(object? value, SettingSpec key, string baseDirectory) => value switch
    {
        null => "—",
        Enum e => Choice.Name(e),
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        string s when key.Kind == SettingKind.Path && s != ModelSpec.ImageNetWeights => Path.GetRelativePath(baseDirectory, s).Replace('\\', '/'),
        string s => s,
        System.Collections.IEnumerable list => string.Join(",", list.Cast<object>()),
        _ => value.ToString() ?? "",
    };

    /// <summary>The setting keys whose values differ between <paramref name="rows"/>, in the schema's order.</summary>
    public static IReadOnlyList<string> DifferingKeys(IReadOnlyList<IReadOnlyDictionary<string, string>> settings) =>
        settings.Count < 2 ? [] : [.. settings[0].Keys.Where(k => settings.Select(s => s[k]).Distinct(StringComparer.Ordinal).Count() > 1)];

    /// <summary>Rows in the order <paramref name="sort"/> asks: "" keeps the file's order; "name"; or a metric, best first, rows without results last.</summary>
    public static List<ExperimentRow> Sorted(List<ExperimentRow> rows, string sort)
    {
        if (sort is "" or null)
            return rows;
        if (sort == "name")
            return [.. rows.OrderBy(r => r.Name, StringComparer.Ordinal)];
        var metric = Metric.Find(sort) ?? throw new ArgumentException($"-p:Sort must be name or a metric ({string.Join(", ", Metric.All.Select(m => m.Key))}), not '{sort}'");
        double Key(ExperimentRow r) => r.Stats(metric) is { N: > 0 } s ? (metric.Direction == MetricDirection.LowerIsBetter ? s.Mean : -s.Mean) : double.PositiveInfinity;
        return [.. rows.OrderBy(Key).ThenBy(r => r.Name, StringComparer.Ordinal)];
    }

    /// <summary>The markdown table.</summary>
    public static string Markdown(IReadOnlyList<ExperimentRow> rows, string baseDirectory)
    {
        var (keys, settings) = Columns(rows, baseDirectory);
        var md = new StringBuilder();
        md.Append("| experiment | ").Append(string.Concat(keys.Select(k => k + " | "))).Append("seeds | test accuracy | loss | macro F1 | status | Δ vs lock |\n|---|")
            .Append(string.Concat(keys.Select(_ => "---|"))).Append("---|---|---|---|---|---|\n");
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            string Cell(Metric m) => r.Stats(m) is { N: > 0 } s ? m.FormatSpread(s.Mean, s.Std, s.N) : "—";
            md.Append(CultureInfo.InvariantCulture, $"| {r.Name} | {string.Concat(keys.Select(k => settings[i][k] + " | "))}{Seeds(r)} | {Cell(Metric.Accuracy)} | {Cell(Metric.Loss)} | {Cell(Metric.MacroF1)} | {r.Status} | {r.DeltaVsLock} |\n");
        }
        return md.ToString();
    }

    private static string Seeds(ExperimentRow r) => $"{r.Results.Count}/{r.Spec.Seeds.Count}";

    private static (IReadOnlyList<string> Keys, IReadOnlyList<IReadOnlyDictionary<string, string>> Settings) Columns(IReadOnlyList<ExperimentRow> rows, string baseDirectory)
    {
        var settings = rows.Select(r => Settings(r.Spec, baseDirectory)).ToList();
        return (DifferingKeys(settings), settings);
    }

    /// <summary>CSV for spreadsheets: settings that differ, then per spread metric its mean, std and n (fractions, not percent).</summary>
    public static string Csv(IReadOnlyList<ExperimentRow> rows, string baseDirectory)
    {
        var (keys, settings) = Columns(rows, baseDirectory);
        var csv = new StringBuilder();
        csv.Append(string.Join(",", new[] { "experiment" }.Concat(keys).Append("seeds_run").Append("seeds")
            .Concat(Metric.Spread.SelectMany(m => new[] { m.Key + "_mean", m.Key + "_std" })).Append("status").Append("delta_vs_lock"))).Append('\n');
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            var cells = new List<string> { r.Name };
            cells.AddRange(keys.Select(k => settings[i][k]));
            cells.Add(r.Results.Count.ToString(CultureInfo.InvariantCulture));
            cells.Add(r.Spec.Seeds.Count.ToString(CultureInfo.InvariantCulture));
            foreach (var m in Metric.Spread)
            {
                var s = r.Stats(m);
                cells.Add(s.N > 0 ? s.Mean.ToString("F6", CultureInfo.InvariantCulture) : "");
                cells.Add(s.N > 1 ? s.Std.ToString("F6", CultureInfo.InvariantCulture) : "");
            }
            cells.Add(r.Status);
            cells.Add(r.DeltaVsLock);
            csv.Append(string.Join(",", cells.Select(Quote))).Append('\n');
        }
        return csv.ToString();
    }

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;

    /// <summary>JSON for other tools: every row with all its result-affecting settings, each spread metric's mean, std and n.</summary>
    public static string Json(IReadOnlyList<ExperimentRow> rows, string baseDirectory)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var r in rows)
            {
                json.WriteStartObject();
                json.WriteString("experiment", r.Name);
                json.WriteBoolean("declared", r.Declared);
                json.WriteStartObject("settings");
                foreach (var (key, value) in Settings(r.Spec, baseDirectory))
                    json.WriteString(key, value);
                json.WriteEndObject();
                json.WriteNumber("seeds", r.Spec.Seeds.Count);
                json.WriteNumber("seeds_run", r.Results.Count);
                foreach (var m in Metric.Spread)
                {
                    var s = r.Stats(m);
                    json.WriteStartObject(m.Key);
                    json.WriteNumber("n", s.N);
                    if (s.N > 0)
                        json.WriteNumber("mean", Math.Round(s.Mean, 6));
                    if (s.N > 1)
                        json.WriteNumber("std", Math.Round(s.Std, 6));
                    json.WriteEndObject();
                }
                json.WriteString("status", r.Status);
                json.WriteString("delta_vs_lock", r.DeltaVsLock);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
