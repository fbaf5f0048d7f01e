using System.Globalization;
using System.Text;
using System.Text.Json;
using Repro.Config;
using Repro.Config.IO;
using Repro.Core.Engine;
using Repro.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Validation;

/// <summary>One recipe of the step-parity check on one model.</summary>
/// <param name="Recipe">The recipe's name in the recipes file (an experiment's name there).</param>
/// <param name="Spec">The recipe with its <c>model:</c> set to the case's architecture.</param>
public sealed record StepParityCase(string Recipe, ExperimentSpec Spec)
{
    /// <summary>The case's file name stem: <c>&lt;model&gt;-&lt;recipe&gt;</c>.</summary>
    public string Name => $"{Choice.Name(Spec.Model.Architecture)}-{Recipe}";
}

/// <summary>
/// How far apart two trajectories of a case are, as largest relative errors: a tensor's error is
/// max |a − b| / max |b| over its elements (its absolute error when b is all zeros).
/// </summary>
/// <param name="Losses">Each step's loss error.</param>
/// <param name="Gradients">Each trainable parameter's gradient error after step 1, by parameter name.</param>
/// <param name="State">The largest error of a parameter or buffer after the last step, and that entry.</param>
/// <param name="LearningRate">The largest error of a step's learning rate over the whole schedule.</param>
public sealed record StepDeviation(IReadOnlyList<double> Losses, IReadOnlyDictionary<string, double> Gradients, double State, string StateTensor, double LearningRate)
{
    /// <summary>The largest loss error over the steps.</summary>
    public double Loss => Losses.DefaultIfEmpty(0).Max();

    /// <summary>The largest gradient error and its parameter.</summary>
    public (double Error, string Tensor) Gradient =>
        Gradients.Count == 0 ? (0, "") : (Gradients.Values.Max(), Gradients.MaxBy(e => e.Value).Key);

    /// <summary>The gradient error of <paramref name="name"/>, 0 when it has none.</summary>
    public double GradientOf(string name) => Gradients.GetValueOrDefault(name);
}

/// <summary>
/// When Repro's distance from PyTorch is acceptable: at most the floor, or at most <see cref="NoiseFactor"/> times
/// PyTorch's own float32 noise on the same recipe (its distance from itself when only the thread count, and so the
/// summation order, changes). Why both: float32 on both sides and different LibTorch builds (2.10 against 1.13: other
/// oneDNN kernels and reduction orders, Repro's subsampled shortcut convolution against torchvision's strided one) agree
/// to rounding, not to the bit; on most recipes that stays below the floors, but where the recipe amplifies rounding
/// (Adam's first step is lr·sign(g), so a gradient element within rounding of zero moves by ±lr; BatchNorm over a few
/// values; gradients that cancel to almost nothing by BatchNorm's scale invariance) PyTorch does not reproduce itself
/// either, and no implementation could do better than that noise.
/// </summary>
/// <param name="Loss">Floor for each step's loss.</param>
/// <param name="Gradient">Floor for step-1 gradients.</param>
/// <param name="State">Floor for parameters and buffers after the last step.</param>
/// <param name="LearningRate">Bound for each step's learning rate (no noise allowance: it is computed in float64 from the schedule).</param>
/// <param name="NoiseFactor">How many times PyTorch's own noise Repro may be off.</param>
public sealed record StepParityTolerance(double Loss, double Gradient, double State, double LearningRate, double NoiseFactor)
{
    /// <summary>The check's tolerance: floors well above float32 rounding through three steps of a well-conditioned
    /// recipe (measured: 1e-7 to 1e-6), well below what an arithmetic mistake gives (a missed term, a wrong constant:
    /// 1e-2 or more), and ten times PyTorch's own noise where that is larger.</summary>
    public static StepParityTolerance Float32 { get; } = new(Loss: 1e-5, Gradient: 1e-4, State: 1e-4, LearningRate: 1e-12, NoiseFactor: 10);

    /// <summary>The bound for an error whose PyTorch noise is <paramref name="noise"/>.</summary>
    public double Bound(double floor, double noise) => Math.Max(floor, NoiseFactor * noise);
}

/// <summary>A case's distance from PyTorch (Repro's) beside PyTorch's distance from itself, and what failed outright
/// (a tensor one side lacks, a frozen tensor that moved, clipping that never engaged).</summary>
public sealed record StepParityResult(string Recipe, ModelKind Model, StepDeviation Repro, StepDeviation PyTorchNoise, IReadOnlyList<string> Problems,
    IReadOnlyList<(double Repro, double PyTorch)> Losses)
{
    /// <summary>What is out of tolerance, one line each; empty when the case passes.</summary>
    public IReadOnlyList<string> Failures(StepParityTolerance t)
    {
        string name = $"{Choice.Name(Model)} {Recipe}";
        var failures = Problems.Select(p => $"{name}: {p}").ToList();
        // Worst over the steps on both sides: which step PyTorch's own noise shows at is itself noise (a step can come out
        // identical across thread counts and the next one not).
        if (Repro.Loss > t.Bound(t.Loss, PyTorchNoise.Loss))
            failures.Add($"{name}: loss error {Repro.Loss:G3} (steps: {string.Join(", ", Repro.Losses.Select(l => l.ToString("G3", CultureInfo.InvariantCulture)))}) > {t.Bound(t.Loss, PyTorchNoise.Loss):G3} (PyTorch's own noise {PyTorchNoise.Loss:G3})");
        // Gradients tensor by tensor: after one backward pass nothing has been amplified yet, so each parameter's own
        // PyTorch noise (large only where the true gradient cancels to almost nothing) bounds its error.
        foreach (var (tensor, error) in Repro.Gradients.Where(g => g.Value > t.Bound(t.Gradient, PyTorchNoise.GradientOf(g.Key))).OrderByDescending(g => g.Value).Take(5))
            failures.Add($"{name}: gradient of {tensor}: error {error:G3} > {t.Bound(t.Gradient, PyTorchNoise.GradientOf(tensor)):G3} (PyTorch's own noise on it {PyTorchNoise.GradientOf(tensor):G3})");
        if (Repro.State > t.Bound(t.State, PyTorchNoise.State))
            failures.Add($"{name}: parameter/buffer error {Repro.State:G3} ({Repro.StateTensor}) > {t.Bound(t.State, PyTorchNoise.State):G3} (PyTorch's own noise {PyTorchNoise.State:G3}, {PyTorchNoise.StateTensor})");
        if (Repro.LearningRate > t.LearningRate)
            failures.Add($"{name}: learning-rate error {Repro.LearningRate:G3} > {t.LearningRate:G3}");
        return failures;
    }
}

/// <summary>
/// Training-step parity with PyTorch: every recipe of a recipes file (an experiments.yaml, scripts/step-parity.yaml) on
/// both models takes <see cref="Steps"/> optimisation steps from PyTorch's initial weights on PyTorch's random-noise
/// batches, through Repro's own training code (<see cref="ModelBuilder"/>, <see cref="BuiltModel.SetTrainingMode"/>,
/// <see cref="Optimization"/>, <see cref="Trainer.Step"/>), and is compared with what scripts/step-parity.py recorded
/// for the same recipe in PyTorch. Noise has no ties, so max-pool and ReLU select the same elements on both sides and
/// the trajectories differ only by float32 rounding.
/// </summary>
/// <remarks>
/// The exchange: <see cref="WriteManifest"/> writes each case's train stamp (the canonical settings twin.py reads) and
/// manifest.json; the script writes init/, inputs/ and reference/; <see cref="Compare"/> runs Repro's side of a case.
/// Dropout is set to p = 0 on both sides: a mask drawn by each side's own generator would differ.
/// </remarks>
public static class StepParity
{
    /// <summary>Optimisation steps per case.</summary>
    public const int Steps = 3;

    /// <summary>Steps per epoch the schedule assumes (so warm-up and cosine change the rate within a few steps).</summary>
    public const int StepsPerEpoch = 2;

    /// <summary>Classes of the noise task.</summary>
    public const int Classes = 10;

    /// <summary>The models every recipe runs on.</summary>
    public static IReadOnlyList<ModelKind> Models { get; } = [ModelKind.ResNet50, ModelKind.DenseNet121];

    /// <summary>Every recipe of <paramref name="recipesFile"/> on every model of <see cref="Models"/>, recipe by recipe.</summary>
    /// <exception cref="InvalidDataException">The file has errors (all of them, with line and column).</exception>
    public static IReadOnlyList<StepParityCase> Cases(string recipesFile)
    {
        var file = ExperimentsFile.Load(recipesFile);
        if (file.Errors.Count > 0)
            throw new InvalidDataException(string.Join("\n", file.Errors));
        return [.. file.Experiments.SelectMany(e => Models.Select(m => new StepParityCase(e.Name, e with { Model = e.Model with { Architecture = m } })))];
    }

    /// <summary>Writes <paramref name="directory"/>/manifest.json and each case's stamps/&lt;case&gt;.json for scripts/step-parity.py.</summary>
    public static void WriteManifest(string directory, IReadOnlyList<StepParityCase> cases)
    {
        var entries = new List<object>();
        foreach (var c in cases)
        {
            string stamp = $"stamps/{c.Name}.json";
            AtomicFile.WriteAllText(Path.Combine(directory, stamp), c.Spec.Canonical(Stage.Train, directory));
            entries.Add(new { name = c.Name, stamp });
        }
        var manifest = new { steps = Steps, steps_per_epoch = StepsPerEpoch, classes = Classes, cases = entries };
        AtomicFile.WriteAllText(Path.Combine(directory, "manifest.json"), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Runs Repro's side of <paramref name="c"/> and measures it, and PyTorch's other-thread-count run, against the
    /// reference scripts/step-parity.py wrote in <paramref name="directory"/>.</summary>
    public static StepParityResult Compare(StepParityCase c, string directory)
    {
        var spec = c.Spec;
        var training = spec.Training;
        var problems = new List<string>();
        string Stem(string folder) => Path.Combine(directory, folder, c.Name + ".pth");
        var init = Checkpoint.ReadFile(Path.Combine(directory, "init", $"{Choice.Name(spec.Model.Architecture)}-{Choice.Name(spec.Model.Head)}-{training.Batch}x{spec.Input.Crop}.pth"));
        var inputs = Checkpoint.ReadFile(Path.Combine(directory, "inputs", $"{training.Batch}x{spec.Input.Crop}.pth"));
        var reference = Checkpoint.ReadFile(Stem("reference"));
        try
        {
            StepDeviation noise;
            var other = Checkpoint.ReadFile(Stem("noise"));
            try
            {
                noise = Measure(other, reference, init, problems: null);
            }
            finally
            {
                Dispose(other);
            }

            TorchRuntime.Configure(spec.Runtime.Threads, CPU, spec.Runtime.Tf32);
            using var built = ModelBuilder.Build(spec.Model.Architecture, Classes, spec.Model.Head, spec.Model.Freeze, pretrainedPath: null,
                frozenBatchNormTrains: spec.Model.FrozenBatchNormTrains);
            Checkpoint.Load(built.Module, init, "initial weights");
            foreach (var dropout in built.Module.modules().OfType<Dropout>())
                dropout.p = 0;
            var repro = Train(built, training, inputs, Input(spec));
            try
            {
                if (training.ClipGradNorm > 0)
                    CheckClipping(repro, training.ClipGradNorm, problems);
                var deviation = Measure(repro, reference, init, problems);
                return new StepParityResult(c.Recipe, spec.Model.Architecture, deviation, noise, problems,
                    [.. Values(repro["loss"]).Zip(Values(reference["loss"]))]);
            }
            finally
            {
                // The state entries are the model's own tensors, disposed with it.
                Dispose(repro.Where(e => !e.Key.StartsWith(After, StringComparison.Ordinal)));
            }
        }
        finally
        {
            Dispose(init.Concat(inputs).Concat(reference));
        }
    }

    /// <summary>
    /// The input layout Repro trains the case in, as an experiment would on this CPU: the recipe's <c>channels_last</c>
    /// (the default), unless this CPU refuses it (<see cref="InputFormat.ChannelsLastRefusal"/>). PyTorch's side is NCHW.
    /// </summary>
    public static InputFormat Input(ExperimentSpec spec) =>
        new(ScalarType.Float32, spec.Input.ChannelsLast && InputFormat.ChannelsLastRefusal(DeviceType.CPU, X86Cpu.Current(), TorchRuntime.OneDnnEnabled != false) is null);

    private const string Gradient = "grad/";
    private const string After = "after/";

    /// <summary>
    /// Repro's steps, recorded as scripts/step-parity.py records PyTorch's: "loss", "lr" (the whole schedule), "grad/…"
    /// after step 1, "after/…" after the last step.
    /// </summary>
    private static Dictionary<string, Tensor> Train(BuiltModel built, TrainingOptions training, Dictionary<string, Tensor> inputs, InputFormat input)
    {
        var trainable = built.TrainableParameters().ToList();
        using var optimizer = Optimization.Create(training, trainable);
        var record = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var losses = new List<double>();
        // As Trainer trains: a frozen backbone's pairs folded (PyTorch's side never folds, so the table covers it).
        using var frozen = BatchNormFolding.FoldFrozen(built.Module, input.ChannelsLast);
        for (int k = 0; k < Steps; k++)
        {
            using var scope = NewDisposeScope();
            built.SetTrainingMode(true);
            double lr = Optimization.LearningRate(training, k, StepsPerEpoch);
            var (loss, _) = Trainer.Step(optimizer, trainable, built.Module, input.Prepare(inputs["x"][k], CPU), inputs["y"][k], lr, training);
            losses.Add(loss.to(float64).item<double>());
            if (k == 0)
            {
                foreach (var (name, p) in built.Module.named_parameters())
                {
                    if (p.grad is { } grad)
                        record[Gradient + name] = grad.detach().clone().DetachFromDisposeScope();
                }
            }
        }
        built.SetTrainingMode(false);
        foreach (var (name, tensor) in Checkpoint.StateDict(built.Module))
            record[After + name] = tensor;
        record["loss"] = tensor(losses.ToArray(), float64);
        record["lr"] = tensor(Enumerable.Range(0, training.Epochs * StepsPerEpoch).Select(s => Optimization.LearningRate(training, s, StepsPerEpoch)).ToArray(), float64);
        return record;
    }

    /// <summary>
    /// How far <paramref name="actual"/> is from <paramref name="expected"/> (both as scripts/step-parity.py records
    /// them). With <paramref name="problems"/>, also what cannot be compared: gradients or entries only one side has,
    /// and entries the expected side left bit-for-bit at their initial value (a frozen weight, an evaluation-mode
    /// BatchNorm's statistics) that the actual side changed.
    /// </summary>
    private static StepDeviation Measure(Dictionary<string, Tensor> actual, Dictionary<string, Tensor> expected, Dictionary<string, Tensor> init, List<string>? problems)
    {
        var gradients = TensorErrors(actual, expected, Gradient, problems, "gradient", init: null);
        var state = TensorErrors(actual, expected, After, problems, "state_dict entry", init).MaxBy(e => e.Value);
        return new StepDeviation(Errors(Values(actual["loss"]), Values(expected["loss"])), gradients, state.Value, state.Key ?? "",
            Errors(Values(actual["lr"]), Values(expected["lr"])).DefaultIfEmpty(0).Max());
    }

    private static Dictionary<string, double> TensorErrors(Dictionary<string, Tensor> actual, Dictionary<string, Tensor> expected, string prefix, List<string>? problems,
        string what, Dictionary<string, Tensor>? init)
    {
        var errors = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, b) in expected.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)))
        {
            string name = key[prefix.Length..];
            if (!actual.TryGetValue(key, out var a))
            {
                problems?.Add($"{name}: a {what} in PyTorch, none in Repro");
                continue;
            }
            if (init is not null && Identical(b, init[name]) && !Identical(a, init[name]))
                problems?.Add($"{name}: unchanged in PyTorch, changed in Repro");
            errors[name] = RelativeError(a, b);
        }
        foreach (var key in actual.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !expected.ContainsKey(k)))
            problems?.Add($"{key[prefix.Length..]}: a {what} in Repro, none in PyTorch");
        return errors;
    }

    /// <summary>The gradient compared is the clipped one; a recipe whose norm stays below the bound would not test clipping.</summary>
    private static void CheckClipping(Dictionary<string, Tensor> repro, double clip, List<string> problems)
    {
        double squared = repro.Where(e => e.Key.StartsWith(Gradient, StringComparison.Ordinal)).Sum(e =>
        {
            // Not square(): TorchSharp makes its exponent an implicit Scalar (ScalarLifetimeTests).
            var d = e.Value.to(float64);
            return d.mul(d).sum().item<double>();
        });
        if (Math.Abs(Math.Sqrt(squared) - clip) > 1e-3 * clip)
            problems.Add($"gradient norm after clipping is {Math.Sqrt(squared):G4}, not clip_grad_norm {clip}: clipping did not engage, so the recipe does not test it");
    }

    private static void Dispose(IEnumerable<KeyValuePair<string, Tensor>> entries)
    {
        foreach (var (_, t) in entries)
            t.Dispose();
    }

    private static bool Identical(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    /// <summary>max |a − b| / max |b| in float64; max |a − b| when b is all zeros.</summary>
    internal static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var a = actual.detach().to(float64);
        var b = expected.to(float64);
        double difference = (a - b).abs().max().item<double>();
        double scale = b.abs().max().item<double>();
        return scale == 0 ? difference : difference / scale;
    }

    private static List<double> Errors(IReadOnlyList<double> actual, IReadOnlyList<double> expected) =>
        actual.Count != expected.Count ? [double.PositiveInfinity]
        : [.. actual.Zip(expected, (a, b) => b == 0 ? Math.Abs(a - b) : Math.Abs(a - b) / Math.Abs(b))];

    private static double[] Values(Tensor t) => t.to(float64).data<double>().ToArray();

    /// <summary>
    /// The step-parity table of docs/validation.md: recipe × model, Repro's largest relative errors against PyTorch with
    /// PyTorch's own noise in brackets, and the verdict.
    /// </summary>
    public static string Table(IReadOnlyList<StepParityResult> results, StepParityTolerance t)
    {
        static string E(double v) => v.ToString("0.0e+0", CultureInfo.InvariantCulture);
        var md = new StringBuilder();
        md.Append("| recipe | model | loss, worst of 3 steps | gradients after step 1 (worst tensor) | parameters and buffers after step 3 (worst tensor) | lr, every step | verdict |\n");
        md.Append("|---|---|---|---|---|---|---|\n");
        foreach (var r in results)
        {
            var (a, n) = (r.Repro, r.PyTorchNoise);
            string verdict = r.Failures(t).Count == 0 ? "equal within tolerance" : "**differs**";
            md.Append(CultureInfo.InvariantCulture,
                $"| {r.Recipe} | {Choice.Name(r.Model)} | {E(a.Loss)} [{E(n.Loss)}] | {E(a.Gradient.Error)} (`{a.Gradient.Tensor}`) [{E(n.GradientOf(a.Gradient.Tensor))}] | {E(a.State)} (`{a.StateTensor}`) [{E(n.State)}] | {E(a.LearningRate)} | {verdict} |\n");
        }
        md.Append("\nEach cell: Repro's largest relative error against PyTorch (max |Repro − PyTorch| / max |PyTorch| per tensor, the worst tensor named) ");
        md.Append("and, in brackets, PyTorch's own: the same measure between PyTorch with one thread and with two, which changes only the float32 summation order ");
        md.Append("(for gradients, on the tensor named; for losses and final state, the worst over steps and tensors, since which element rounding first tips over is itself chance). ");
        md.Append(CultureInfo.InvariantCulture,
            $"Tolerance: at most the floor (loss {t.Loss:0e+0}, gradients {t.Gradient:0e+0} per tensor, parameters and buffers {t.State:0e+0}) or {t.NoiseFactor:0} times PyTorch's own error, whichever is larger; learning rates within {t.LearningRate:0e+0}. ");
        md.Append("Frozen parameters and evaluation-mode BatchNorm statistics must stay bit-for-bit unchanged, and the clipped recipe's gradient norm must equal its bound.\n");
        return md.ToString();
    }
}
