using System.Globalization;
using System.Text;
using Repro.Config;
using Repro.Core.Engine;

namespace Repro.Core.Reports;

/// <summary>Everything report.md shows about one experiment.</summary>
/// <remarks><c>SkippedImages</c>: null when <c>skip_corrupt</c> is off, else the images it left out (maybe none).
/// <c>Classifier</c>: with pretrained weights, whether the checkpoint's classifier was kept or replaced.</remarks>
public sealed record ReportData(
    string Experiment,
    string Description,
    string ResolvedConfig,
    string ConfigFingerprint,
    string DatasetDescription,
    string SplitManifestHash,
    int TrainImages,
    int TestImages,
    string TrainingPath,
    string ModelSummary,
    TestMetrics Test,
    IReadOnlyList<EpochRecord> History,
    Provenance Provenance,
    TimeSpan TrainDuration,
    TimeSpan TestDuration,
    TutorialFigure? Tutorial,
    ulong Seed = 0,
    IReadOnlyCollection<string>? SkippedImages = null,
    string? Classifier = null);

/// <summary>Writes report.md: result first, then configuration, data, per-class table, plots, summary and provenance.</summary>
public static class ReportWriter
{
    public static string Write(ReportData r)
    {
        var t = r.Test;
        var md = new StringBuilder();
        md.Append("# ").Append(r.Experiment).Append("\n\n");
        if (!string.IsNullOrWhiteSpace(r.Description))
            md.Append(r.Description.Trim()).Append("\n\n");

        md.Append("## Result\n\n");
        md.Append("| test accuracy | top-5 accuracy | macro F1 | test loss | correct | epochs |\n|---|---|---|---|---|---|\n");
        md.Append(CultureInfo.InvariantCulture, $"| {Pct(t.Accuracy)} | {(t.Top5Accuracy is { } top5 ? Pct(top5) : "n/a")} | {t.MacroF1:F4} | {t.Loss:F4} | {t.Correct}/{t.Count} | {r.History.Count} |\n\n");
        if (r.Tutorial is { } tut)
        {
            md.Append(CultureInfo.InvariantCulture,
                $"The tutorial reports {Pct(tut.TestAccuracy)} ({tut.Correct}/{tut.Total}) for {tut.Dataset} with {tut.Model} (pretrained, frozen, 20 epochs, test images read with random training crops). ");
            md.Append(CultureInfo.InvariantCulture, $"Here: {Pct(t.Accuracy)}, {(t.Accuracy - tut.TestAccuracy) * 100:+0.00;-0.00} points.\n\n");
        }

        md.Append("## Configuration\n\nResolved settings (fingerprint `").Append(r.ConfigFingerprint).Append("`):\n\n```json\n")
          .Append(r.ResolvedConfig.TrimEnd()).Append("\n```\n\n");

        md.Append("## Data\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Dataset: {r.DatasetDescription}\n");
        if (r.SkippedImages is { } skipped)
            md.Append("- skip_corrupt: ").Append(skipped.Count == 0 ? "every image decoded, none skipped" : SkippedImages.Describe(skipped)).Append('\n');
        md.Append(CultureInfo.InvariantCulture, $"- Split manifest: `{r.SplitManifestHash}` ({r.TrainImages} train, {r.TestImages} test images)\n");
        md.Append(CultureInfo.InvariantCulture, $"- Training path: {r.TrainingPath}\n");
        if (r.Classifier is { } classifier)
            md.Append(CultureInfo.InvariantCulture, $"- Pretrained weights: backbone from the checkpoint; {classifier}\n");
        md.Append("- Testing: evaluation mode, no gradients, evaluation transform (resize to crop/0.875, center crop).\n\n");

        md.Append("## Per class\n\n| class | images | correct | accuracy (recall) | precision | F1 |\n|---|---|---|---|---|---|\n");
        foreach (var c in t.PerClass)
            md.Append(CultureInfo.InvariantCulture, $"| {c.Name} | {c.Count} | {c.Correct} | {Pct(c.Accuracy)} | {Pct(c.Precision)} | {c.F1:F4} |\n");
        md.Append("\n![confusion matrix](confusion.png)\n\n");

        md.Append("## Training\n\nValidation is measured on the test split after each epoch (the study has no separate validation set).\n\n");
        md.Append("| epoch | train loss | train accuracy | validation loss | validation accuracy | learning rate |\n|---|---|---|---|---|---|\n");
        foreach (var h in r.History)
            md.Append(CultureInfo.InvariantCulture, $"| {h.Epoch} | {h.TrainLoss:F4} | {Pct(h.TrainAccuracy)} | {h.ValidationLoss:F4} | {Pct(h.ValidationAccuracy)} | {h.LearningRate:G6} |\n");
        md.Append("\n![training curves](curves.png)\n\n");

        // Hundreds of rows: folded, so the provenance below stays in reach.
        md.Append("## Model\n\n<details><summary>Layer-by-layer summary (torchsummary format)</summary>\n\n```text\n")
          .Append(r.ModelSummary.TrimEnd()).Append("\n```\n\n</details>\n\n");

        var p = r.Provenance;
        md.Append("## Provenance\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Code: git commit `{p.Commit}`{(p.Dirty ? " (working tree had uncommitted changes)" : "")}\n");
        md.Append(CultureInfo.InvariantCulture, $"- TorchSharp {p.TorchSharp}, LibTorch {p.LibTorch}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Device: {p.Device}, {p.Threads} {(p.Threads == 1 ? "thread" : "threads")}, {p.Os}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Numerics: {p.Precision}, LibTorch deterministic algorithms {p.Deterministic switch { true => "on", false => "off", null => "unknown (setting unreachable)" }}");
        // Native runs keep the line they always had; portable says what it pinned, as the platform record read it back.
        if (p.Numerics == NumericsMode.Portable)
            md.Append(", portable numerics: ").Append(p.Platform is { } pinned
                ? $"{pinned.IsaClass}, oneDNN {pinned.OneDnnEnabled}, NNPACK {pinned.NnpackEnabled}, ATen {pinned.AtenIsa}, MKL CBWR {pinned.MklCbwr}, MKL vector math {pinned.MklVml} (the same bits on every CPU of the class)"
                : PortableNumerics.IsaClass);
        md.Append('\n');
        md.Append(CultureInfo.InvariantCulture, $"- Seed {r.Seed}; split manifest `{r.SplitManifestHash[..16]}`; configuration `{r.ConfigFingerprint}`\n");
        md.Append(CultureInfo.InvariantCulture, $"- Durations: training {Duration(r.TrainDuration)}, testing {Duration(r.TestDuration)}");
        if (r.History.Count > 0)
        {
            // Every epoch sees the same images, so the overall rate is the harmonic mean of the epochs' rates;
            // the first epoch also decodes and caches the images, hence the last one is shown apart.
            double overall = r.History.Count / r.History.Sum(h => 1 / Math.Max(1e-9, h.ImagesPerSecond));
            md.Append(CultureInfo.InvariantCulture, $"; training {overall:F1} images/s overall, {r.History[^1].ImagesPerSecond:F1} in the last epoch");
        }
        md.Append('\n');
        if (r.History.Any(h => h.ResidentMegabytes > 0))
            md.Append("- Resident memory after each epoch: ").Append(string.Join(", ", r.History.Select(h => h.ResidentMegabytes.ToString("F0", CultureInfo.InvariantCulture)))).Append(" MB\n");
        if (p.Platform is { } platform)
        {
            // Results repeat bit for bit only on the same platform id; across ids they agree statistically.
            md.Append(CultureInfo.InvariantCulture, $"\nNumerics platform `{platform.Id}` (what decides the float bits; `Repro.Experiments platform` prints this machine's):\n\n");
            md.Append("| field | value |\n|---|---|\n");
            foreach (var (key, value) in platform.Fields)
                md.Append(CultureInfo.InvariantCulture, $"| `{key}` | {value.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
            // The layout is the platform's, by a committed table: the same id always gets the same layout.
            md.Append(CultureInfo.InvariantCulture, $"\nLayout on this platform: {Engine.LayoutTable.Describe(Engine.LayoutTable.For(platform))} (docs/benchmarks.md, \"Layout table\").\n");
        }
        return md.ToString();
    }

    /// <summary>lesion.md: the lesion study's table, after Veit et al. (2016).</summary>
    public static string Lesion(string experiment, double baseline, IReadOnlyList<(string Block, double Accuracy)> rows)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Lesion study: {experiment}\n\n");
        md.Append("Test accuracy with one residual block removed (identity shortcut kept), after Veit et al., ");
        md.Append("\"Residual Networks Behave Like Ensembles of Relatively Shallow Networks\" (2016).\n\n");
        md.Append("| removed block | test accuracy | change (points) |\n|---|---|---|\n");
        md.Append(CultureInfo.InvariantCulture, $"| none | {Pct(baseline)} | |\n");
        foreach (var (block, accuracy) in rows)
            md.Append(CultureInfo.InvariantCulture, $"| {block} | {Pct(accuracy)} | {100 * (accuracy - baseline):+0.00;-0.00} |\n");
        md.Append("\n![lesion study](lesion.png)\n");
        return md.ToString();
    }

    /// <summary>history.csv: one row per epoch, invariant culture.</summary>
    public static string HistoryCsv(IReadOnlyList<EpochRecord> history)
    {
        var csv = new StringBuilder("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,lr,seconds,images_per_second,rss_mb\n");
        foreach (var h in history)
            csv.Append(CultureInfo.InvariantCulture,
                $"{h.Epoch},{h.TrainLoss:F6},{h.TrainAccuracy:F6},{h.ValidationLoss:F6},{h.ValidationAccuracy:F6},{h.LearningRate:G10},{h.Seconds:F3},{h.ImagesPerSecond:F1},{h.ResidentMegabytes:F1}\n");
        return csv.ToString();
    }

    public static string Pct(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + "%";

    private static string Duration(TimeSpan d) => d.TotalMinutes >= 1 ? $"{(int)d.TotalMinutes} min {d.Seconds} s" : $"{d.TotalSeconds:F1} s";
}
