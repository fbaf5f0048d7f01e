using System.Globalization;
using Repro.Config;
using Repro.Config.IO;
using Repro.Core.Engine;
using ScottPlot;

namespace Repro.Core.Reports;

/// <summary>The report's figures, drawn with ScottPlot and written atomically as PNG.</summary>
public static class Plots
{
    /// <summary>Loss and accuracy per epoch, train and validation, side by side.</summary>
    public static void Curves(string path, string title, IReadOnlyList<EpochRecord> history)
    {
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        var (multi, loss, accuracy) = LossAndAccuracy();
        AddSeries(loss, epochs, history.Select(h => h.TrainLoss).ToArray(), "train", Colors.Blue);
        AddSeries(loss, epochs, history.Select(h => h.ValidationLoss).ToArray(), "validation", Colors.Orange);
        AddSeries(accuracy, epochs, history.Select(h => 100 * h.TrainAccuracy).ToArray(), "train", Colors.Blue);
        AddSeries(accuracy, epochs, history.Select(h => 100 * h.ValidationAccuracy).ToArray(), "validation", Colors.Orange);
        // Legend outside the data area: inside, any corner hides the points of some run (low accuracy, rising loss).
        FinishLossAndAccuracy(loss, accuracy, $"{title}: loss", $"{title}: accuracy", Edge.Right, epochs.Length);
        Save(path, img => multi.SavePng(img, 1200, 480));
    }

    /// <summary>Confusion matrix as a heat map with class names on both axes and the count in each cell.</summary>
    public static void Confusion(string path, string title, TestMetrics metrics)
    {
        int n = metrics.Classes.Count;
        var plot = new Plot();
        var values = new double[n, n];
        double max = 1;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                max = Math.Max(max, values[r, c] = metrics.Confusion[r, c]);
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new LightToDarkBlue();
        // Cell (r, c) spans (c ± 0.5, n-1-r ± 0.5), centred where its count label and tick go. Rectangle sets the
        // outer edges; Extent would set the outer cells' centres and stretch the grid off its labels.
        heatmap.Rectangle = new CoordinateRect(-0.5, n - 0.5, -0.5, n - 0.5);
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < n; c++)
            {
                var text = plot.Add.Text(metrics.Confusion[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture), c, n - 1 - r);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = n > 20 ? 8 : 12;
                text.LabelFontColor = values[r, c] > max / 2 ? Colors.White : Colors.Black;
            }
        }
        var ticksX = Enumerable.Range(0, n).Select(i => new Tick(i, metrics.Classes[i])).ToArray();
        var ticksY = Enumerable.Range(0, n).Select(i => new Tick(n - 1 - i, metrics.Classes[i])).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticksX);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticksY);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 120;
        plot.Axes.Left.MinimumSize = 120;
        plot.Add.ColorBar(heatmap);
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Title($"{title}: confusion matrix (test, {metrics.Correct}/{metrics.Count} correct)");
        plot.XLabel("predicted");
        plot.YLabel("true");
        int size = Math.Max(700, 60 * n + 260);
        Save(path, img => plot.SavePng(img, size, size));
    }

    /// <summary>Accuracy with each residual block removed, against the intact model (the lesion study).</summary>
    public static void Lesion(string path, string title, double baseline, IReadOnlyList<(string Block, double Accuracy)> rows)
    {
        var plot = new Plot();
        var bars = plot.Add.Bars(rows.Select(r => 100 * r.Accuracy).ToArray());
        bars.Color = Colors.SteelBlue;
        var line = plot.Add.HorizontalLine(100 * baseline);
        line.LinePattern = LinePattern.Dashed;
        line.Color = Colors.DarkRed;

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(rows.Select((r, i) => new Tick(i, r.Block)).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 90;
        plot.Axes.SetLimitsY(0, 100);
        // The intact model's accuracy goes in the title, not a legend: any legend corner can cover a bar or the line.
        plot.Title(System.FormattableString.Invariant($"{title}: test accuracy with one residual block removed (dashed: intact model, {100 * baseline:F2}%)"));
        plot.XLabel("removed block");
        plot.YLabel("test accuracy (%)");
        Save(path, img => plot.SavePng(img, 1100, 520));
    }

    /// <summary>
    /// DiffExperiments: the base's and the head's training curves overlaid (base dashed, head solid; train blue,
    /// validation orange), loss and accuracy side by side, from the two results snapshots. A sweep plots the mean over
    /// its seeds at each epoch.
    /// </summary>
    public static void CurvesDiff(string path, string title, string baseLabel, ResultsSnapshot @base, string headLabel, ResultsSnapshot head)
    {
        var (multi, loss, accuracy) = LossAndAccuracy();
        int epochs = 1;
        foreach (var (label, snapshot, pattern) in new[] { (baseLabel, @base, LinePattern.Dashed), (headLabel, head, LinePattern.Solid) })
        {
            string seeds = snapshot.Runs.Count > 1 ? $", mean of {snapshot.Runs.Count} seeds" : "";
            var (xs, trainLoss, trainAccuracy, validationLoss, validationAccuracy) = MeanHistory(snapshot);
            epochs = Math.Max(epochs, xs.Length);
            AddSeries(loss, xs, trainLoss, $"train ({label}{seeds})", Colors.Blue, pattern);
            AddSeries(loss, xs, validationLoss, $"validation ({label}{seeds})", Colors.Orange, pattern);
            AddSeries(accuracy, xs, trainAccuracy.Select(a => 100 * a).ToArray(), $"train ({label}{seeds})", Colors.Blue, pattern);
            AddSeries(accuracy, xs, validationAccuracy.Select(a => 100 * a).ToArray(), $"validation ({label}{seeds})", Colors.Orange, pattern);
        }
        FinishLossAndAccuracy(loss, accuracy, $"{title}: loss, {baseLabel} (dashed) vs {headLabel}",
            $"{title}: accuracy, {baseLabel} (dashed) vs {headLabel}", Edge.Bottom, epochs);
        Save(path, img => multi.SavePng(img, 1400, 620));
    }

    /// <summary>A loss plot and an accuracy plot side by side, for <see cref="Curves"/> and <see cref="CurvesDiff"/>.</summary>
    private static (Multiplot Multi, Plot Loss, Plot Accuracy) LossAndAccuracy()
    {
        var multi = new Multiplot();
        multi.AddPlots(2);
        multi.Layout = new ScottPlot.MultiplotLayouts.Columns();
        return (multi, multi.GetPlot(0), multi.GetPlot(1));
    }

    /// <summary>Titles, axis labels and legends of a <see cref="LossAndAccuracy"/> pair once its series are in; accuracy in
    /// percent from 0 to 100, whole epochs only (a single epoch gets a range around it).</summary>
    private static void FinishLossAndAccuracy(Plot loss, Plot accuracy, string lossTitle, string accuracyTitle, Edge legend, int epochs)
    {
        loss.Title(lossTitle);
        loss.XLabel("epoch");
        loss.YLabel("cross-entropy");
        accuracy.Title(accuracyTitle);
        accuracy.XLabel("epoch");
        accuracy.YLabel("accuracy (%)");
        accuracy.Axes.SetLimitsY(0, 100);
        foreach (var p in new[] { loss, accuracy })
        {
            p.ShowLegend(legend);
            p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            if (epochs == 1)
                p.Axes.SetLimitsX(0.5, 1.5);
        }
    }

    /// <summary>Per epoch, the mean over a snapshot's seeds of train/validation loss and accuracy.</summary>
    private static (double[] Epochs, double[] TrainLoss, double[] TrainAccuracy, double[] ValidationLoss, double[] ValidationAccuracy) MeanHistory(ResultsSnapshot snapshot)
    {
        var rows = snapshot.Runs.SelectMany(r => r.History).GroupBy(h => Value(h, "epoch")).OrderBy(g => g.Key).ToList();
        double[] Mean(string column) => [.. rows.Select(g => g.Average(h => Value(h, column)))];
        return ([.. rows.Select(g => g.Key)], Mean("train_loss"), Mean("train_accuracy"), Mean("validation_loss"), Mean("validation_accuracy"));
    }

    private static double Value(IReadOnlyDictionary<string, string> row, string column) =>
        row.TryGetValue(column, out var raw) && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;

    /// <summary>
    /// DiffExperiments: the change of the confusion matrix, head minus base (the first seed's of each), as a heat map
    /// that is blue where the head has more images in a cell and red where it has fewer: a better model gains on the
    /// diagonal and loses off it. Both snapshots must have the same classes.
    /// </summary>
    public static void ConfusionDiff(string path, string title, string baseLabel, ResultsSnapshot @base, string headLabel, ResultsSnapshot head)
    {
        var classes = head.Classes.Select(c => c.Name).ToList();
        if (!classes.SequenceEqual(@base.Classes.Select(c => c.Name)))
            throw new ArgumentException($"{title}: the base and head snapshots have different classes; no confusion difference to draw");
        int n = classes.Count;
        var plot = new Plot();
        var values = new double[n, n];
        double max = 1;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                max = Math.Max(max, Math.Abs(values[r, c] = head.Confusion[r, c] - @base.Confusion[r, c]));
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new RedWhiteBlue();
        // Symmetric about zero, so white always means "unchanged".
        heatmap.ManualRange = new ScottPlot.Range(-max, max);
        heatmap.Rectangle = new CoordinateRect(-0.5, n - 0.5, -0.5, n - 0.5);
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < n; c++)
            {
                double d = values[r, c];
                var text = plot.Add.Text(d == 0 ? "0" : d.ToString("+0;-0", CultureInfo.InvariantCulture), c, n - 1 - r);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = n > 20 ? 8 : 12;
                text.LabelFontColor = Math.Abs(d) > max / 2 ? Colors.White : Colors.Black;
            }
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, n).Select(i => new Tick(i, classes[i]))]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, n).Select(i => new Tick(n - 1 - i, classes[i]))]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 120;
        plot.Axes.Left.MinimumSize = 120;
        plot.Add.ColorBar(heatmap);
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        long Correct(ResultsSnapshot s) => Enumerable.Range(0, n).Sum(i => s.Confusion[i, i]);
        string seed = head.Runs.Count > 1 || @base.Runs.Count > 1 ? ", first seed" : "";
        plot.Title($"{title}: confusion change, {headLabel} - {baseLabel}{seed} (correct {Correct(@base)} -> {Correct(head)})");
        plot.XLabel("predicted");
        plot.YLabel("true");
        int size = Math.Max(700, 60 * n + 260);
        Save(path, img => plot.SavePng(img, size, size));
    }

    /// <summary>Red for fewer images in a cell, white for no change, blue for more (a diverging map, symmetric about 0.5).</summary>
    private sealed class RedWhiteBlue : IColormap
    {
        public string Name => "red white blue";

        public Color GetColor(double normalizedIntensity)
        {
            double x = double.IsFinite(normalizedIntensity) ? Math.Clamp(normalizedIntensity, 0, 1) : 0.5;
            var (r, g, b) = x < 0.5 ? ((byte)178, (byte)24, (byte)43) : ((byte)33, (byte)102, (byte)172);
            double t = Math.Abs(x - 0.5) * 2;
            return new Color((byte)Math.Round(255 + t * (r - 255)), (byte)Math.Round(255 + t * (g - 255)), (byte)Math.Round(255 + t * (b - 255)));
        }
    }

    /// <summary>
    /// White for zero to dark blue for the largest count, as confusion matrices are usually read: ScottPlot's
    /// Blues runs the other way, which makes the diagonal the palest part and hides the counts on it.
    /// </summary>
    private sealed class LightToDarkBlue : IColormap
    {
        private static readonly (double At, byte R, byte G, byte B)[] Stops =
            [(0, 247, 251, 255), (0.35, 158, 202, 225), (0.7, 49, 130, 189), (1, 8, 48, 107)];

        public string Name => "light to dark blue";

        public Color GetColor(double normalizedIntensity)
        {
            double x = double.IsFinite(normalizedIntensity) ? Math.Clamp(normalizedIntensity, 0, 1) : 0;
            int i = 1;
            while (i < Stops.Length - 1 && x > Stops[i].At)
                i++;
            var (a, b) = (Stops[i - 1], Stops[i]);
            double t = (x - a.At) / (b.At - a.At);
            return new Color((byte)Math.Round(a.R + t * (b.R - a.R)), (byte)Math.Round(a.G + t * (b.G - a.G)), (byte)Math.Round(a.B + t * (b.B - a.B)));
        }
    }

    private static void AddSeries(Plot plot, double[] xs, double[] ys, string label, Color color, LinePattern? pattern = null)
    {
        var line = plot.Add.Scatter(xs, ys);
        line.LegendText = label;
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = 7;
        if (pattern is { } p)
            line.LinePattern = p;
    }

    private static void Save(string path, Action<string> save) => AtomicFile.WriteVia(path, temp =>
    {
        // ScottPlot picks the format from the extension.
        string png = temp + ".png";
        save(png);
        File.Move(png, temp, overwrite: true);
    });
}
