using System.Globalization;
using System.Text;
using Repro.Config;
using Repro.Core.Data;
using Repro.Core.Engine;
using Repro.Core.Models;
using static TorchSharp.torch;

namespace Repro.Core.Validation;

/// <summary>One test of "Repro draws like torchvision": what was compared, the statistic, its p-value.</summary>
/// <param name="Family">The tests corrected together (Bonferroni): "initialisation" or "augmentation".</param>
/// <param name="Subject">What was drawn: a tensor of a fresh model, or a quantity of the crop box at an image size.</param>
/// <param name="Test">"KS" (two-sample Kolmogorov–Smirnov, <see cref="Statistic"/> = D), "proportions" (two-proportion
/// z-test, <see cref="Statistic"/> = Repro's rate − torchvision's) or "constant" (both sides one value, compared exactly).</param>
/// <param name="Repro">Repro's summary (mean ± std, or rate).</param>
/// <param name="Torchvision">torchvision's summary.</param>
public sealed record DistributionTest(string Family, string Subject, string Test, double Statistic, double P, string Repro, string Torchvision);

/// <summary>
/// Repro's random draws against torchvision's, in distribution (the generators differ, the algorithms should not):
/// every tensor of a freshly built model (the initialisation's distribution and fan mode), and RandomResizedCrop's boxes
/// and the flip over many draws (scale, aspect ratio, position, the centre-crop fallback). torchvision's draws come from
/// scripts/distribution-samples.py. The verdict is family-wise: every p-value of a family at least
/// <see cref="Alpha"/> / (tests in the family), Bonferroni's correction, so that the chance of a false "differs" over the
/// whole family is at most <see cref="Alpha"/>; both sides are seeded, so the outcome is the same on every run.
/// </summary>
public static class DistributionChecks
{
    /// <summary>Family-wise significance level.</summary>
    public const double Alpha = 0.01;

    /// <summary>The seed Repro's models are built with (the experiments' default).</summary>
    private const ulong Seed = 1;

    private const int Classes = 10;

    /// <summary>Draws per image size.</summary>
    public const int Draws = 10_000;

    /// <summary>The image sizes scripts/distribution-samples.py draws boxes for.</summary>
    public static IReadOnlyList<(int Width, int Height)> Sizes { get; } = [(36, 36), (500, 375), (400, 40)];

    /// <summary>
    /// Every state_dict entry of Repro's fresh models (each architecture with its own classifier, and the seed head's
    /// layers) against torchvision's in DIR/init/: a two-sample KS test on the elements of each random tensor, exact
    /// equality for the constant ones (BatchNorm's 1 and 0, its statistics, DenseNet's zero Linear bias).
    /// </summary>
    public static IReadOnlyList<DistributionTest> Initialization(string directory)
    {
        var tests = new List<DistributionTest>();
        foreach (var arch in StepParity.Models)
        {
            foreach (var head in new[] { HeadKind.Linear, HeadKind.Seed })
            {
                string file = Path.Combine(directory, "init", $"{Choice.Name(arch)}-{Choice.Name(head)}.pth");
                var torchvision = Checkpoint.ReadFile(file);
                try
                {
                    // As an experiment builds its model: LibTorch's generator seeded from the run's seed, then the model.
                    TorchRuntime.Seed(SeededRandom.TorchSeed(RandomStream.Initialization, Seed));
                    using var built = ModelBuilder.Build(arch, Classes, head, FreezeMode.None, pretrainedPath: null);
                    // The seed-head model's backbone is the linear one's again: only its head is new.
                    string only = head == HeadKind.Seed ? ((IClassifier)built.Module).ClassifierName + "." : "";
                    foreach (var (name, repro) in Checkpoint.StateDict(built.Module).Where(e => e.Name.StartsWith(only, StringComparison.Ordinal)))
                    {
                        if (!torchvision.TryGetValue(name, out var expected))
                            throw new InvalidDataException($"{file}: no '{name}', which Repro's {Choice.Name(arch)} has");
                        tests.Add(Compare($"{Choice.Name(arch)} {name}", repro, expected));
                    }
                }
                finally
                {
                    foreach (var t in torchvision.Values)
                        t.Dispose();
                }
            }
        }
        return tests;
    }

    private static DistributionTest Compare(string subject, Tensor repro, Tensor torchvision)
    {
        var a = Values(repro);
        var b = Values(torchvision);
        if (b.Min() == b.Max())
        {
            bool same = a.Length == b.Length && a.All(v => v == b[0]);
            return new("initialisation", subject, "constant", same ? 0 : 1, same ? 1 : 0, Describe(a), Describe(b));
        }
        var (d, p) = TwoSampleTests.KolmogorovSmirnov(a, b);
        return new("initialisation", subject, "KS", d, p, Describe(a), Describe(b));
    }

    /// <summary>
    /// RandomResizedCrop's boxes and the flip, <paramref name="draws"/> samples at each of <see cref="Sizes"/>, against
    /// torchvision's in DIR/augment.pth: KS tests on the box's area fraction, aspect ratio (w/h), top and left; two-
    /// proportion tests on the rate of the centre-crop fallback (ten attempts all out of bounds) and of flips.
    /// </summary>
    public static IReadOnlyList<DistributionTest> Augmentation(string directory)
    {
        var tests = new List<DistributionTest>();
        var file = Checkpoint.ReadFile(Path.Combine(directory, "augment.pth"));
        try
        {
            foreach (var (width, height) in Sizes)
            {
                string size = $"{width}x{height}";
                var boxes = file[$"{size}/boxes"].data<long>().ToArray();
                var torchFlips = file[$"{size}/flips"].data<long>().ToArray();
                int n = torchFlips.Length;
                var torchBoxes = Enumerable.Range(0, n).Select(i => ((int)boxes[4 * i], (int)boxes[4 * i + 1], (int)boxes[4 * i + 2], (int)boxes[4 * i + 3])).ToList();
                // Repro's draws: sample i of epoch 0, each from its own stream, as the loader draws them.
                var repro = Enumerable.Range(0, n).Select(i => Transforms.RandomAugmentation(width, height, Seed, 0, i)).ToList();
                var reproBoxes = repro.Select(r => r.Box).ToList();

                double[] Of(IEnumerable<(int Top, int Left, int Height, int Width)> bs, Func<(int Top, int Left, int Height, int Width), double> f) => [.. bs.Select(f)];
                foreach (var (quantity, f) in new (string, Func<(int Top, int Left, int Height, int Width), double>)[]
                {
                    ("area fraction", b => (double)b.Height * b.Width / (width * height)),
                    ("aspect ratio w/h", b => (double)b.Width / b.Height),
                    ("top", b => b.Top),
                    ("left", b => b.Left),
                })
                {
                    var a = Of(reproBoxes, f);
                    var t = Of(torchBoxes, f);
                    var (d, p) = TwoSampleTests.KolmogorovSmirnov(a, t);
                    tests.Add(new("augmentation", $"{size} {quantity}", "KS", d, p, Describe(a), Describe(t)));
                }
                var fallback = FallbackBox(width, height);
                tests.Add(Rate($"{size} centre-crop fallback", reproBoxes.Count(b => b == fallback), torchBoxes.Count(b => b == fallback), n));
                tests.Add(Rate($"{size} horizontal flip", repro.Count(r => r.Flip), torchFlips.Count(f => f == 1), n));
            }
        }
        finally
        {
            foreach (var t in file.Values)
                t.Dispose();
        }
        return tests;
    }

    /// <summary>The box RandomResizedCrop falls back to: ten attempts out of bounds never happen, so draw with a
    /// scale range that cannot fit (area fraction above 1) and read the fallback off the same code.</summary>
    private static (int, int, int, int) FallbackBox(int width, int height) =>
        Transforms.RandomResizedCropParams(width, height, SeededRandom.Create(0), scaleMin: 2, scaleMax: 3);

    private static DistributionTest Rate(string subject, int reproHits, int torchHits, int n) =>
        new("augmentation", subject, "proportions", (double)(reproHits - torchHits) / n, TwoSampleTests.TwoProportions(reproHits, n, torchHits, n),
            Percent(reproHits, n), Percent(torchHits, n));

    private static string Percent(int hits, int n) => string.Create(CultureInfo.InvariantCulture, $"{100.0 * hits / n:0.00} % of {n}");

    private static double[] Values(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.to(float64).flatten().data<double>().ToArray();
    }

    private static string Describe(double[] v)
    {
        double mean = v.Average();
        double std = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, v.Length - 1));
        return string.Create(CultureInfo.InvariantCulture, $"{mean:G4} ± {std:G4}");
    }

    /// <summary>The tests that fail: a constant tensor that differs, or a p-value below its family's Bonferroni threshold.</summary>
    public static IReadOnlyList<DistributionTest> Failures(IReadOnlyList<DistributionTest> tests) =>
        [.. tests.GroupBy(t => t.Family).SelectMany(g => g.Where(t => t.P < Threshold(g)))];

    /// <summary><see cref="Alpha"/> over the family's statistical tests (the exact comparisons of constants are not random).</summary>
    private static double Threshold(IEnumerable<DistributionTest> family) => Alpha / Math.Max(1, family.Count(t => t.Test != "constant"));

    /// <summary>
    /// The markdown of docs/validation.md: per family, how many tests, the threshold and the smallest p-values; every
    /// augmentation test in full (they are few), and the initialisation's weakest tensors.
    /// </summary>
    public static string Table(IReadOnlyList<DistributionTest> tests, int listedPerFamily = 5)
    {
        var md = new StringBuilder();
        foreach (var family in tests.GroupBy(t => t.Family))
        {
            int m = family.Count(t => t.Test != "constant");
            double threshold = Threshold(family);
            int failed = family.Count(t => t.P < threshold);
            md.Append(CultureInfo.InvariantCulture,
                $"\n**{family.Key}**: {family.Count(t => t.Test == "KS")} two-sample KS tests, {family.Count(t => t.Test == "proportions")} two-proportion z tests, {family.Count(t => t.Test == "constant")} constant tensors compared exactly; ");
            md.Append(CultureInfo.InvariantCulture,
                $"each test passes at p ≥ {Alpha} / {m} = {threshold:0.0e+0} (Bonferroni, family-wise α = {Alpha}): {(failed == 0 ? "all pass" : $"**{failed} fail**")}.\n\n");
            md.Append("| subject | test | statistic | p | Repro | torchvision |\n|---|---|---|---|---|---|\n");
            var listed = family.Key == "augmentation" ? family.ToList() : family.Where(t => t.Test != "constant").OrderBy(t => t.P).Take(listedPerFamily).ToList();
            foreach (var t in listed)
                md.Append(CultureInfo.InvariantCulture, $"| {t.Subject} | {t.Test} | {t.Statistic:0.0000} | {t.P:0.000} | {t.Repro} | {t.Torchvision} |\n");
            if (listed.Count < m)
                md.Append(CultureInfo.InvariantCulture, $"\n(The {listed.Count} smallest p-values of {m}; every constant tensor is equal on both sides{(family.Any(t => t.Test == "constant" && t.P == 0) ? " except the failures" : "")}.)\n");
        }
        return md.ToString();
    }
}
