using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Repro.Core.Validation;

/// <summary>
/// The deterministic half of the validation against PyTorch, as one markdown section of docs/validation*.md: the
/// training-step parity table (<see cref="StepParity"/>) and the initialisation and augmentation checks
/// (<see cref="DistributionChecks"/>), each with its PyTorch side run by the reference Python in a temporary folder.
/// </summary>
public static class ParityReport
{
    /// <summary>Runs both checks and returns the section and how many cases or tests failed.</summary>
    /// <param name="python">The Python with torch and torchvision.</param>
    /// <param name="scripts">The repository's scripts/ folder (step-parity.py, step-parity.yaml, distribution-samples.py).</param>
    /// <param name="log">Progress, one line per case.</param>
    public static (string Markdown, int Failures) Run(string python, string scripts, Action<string> log)
    {
        string dir = Directory.CreateTempSubdirectory("repro-parity-").FullName;
        try
        {
            var md = new StringBuilder();
            var clock = Stopwatch.StartNew();
            var cases = StepParity.Cases(Path.Combine(scripts, "step-parity.yaml"));
            string steps = Path.Combine(dir, "steps");
            StepParity.WriteManifest(steps, cases);
            log($"step parity: PyTorch side of {cases.Count} cases");
            ReferencePython.RunScript(python, Path.Combine(scripts, "step-parity.py"), [steps], TimeSpan.FromHours(1));
            string versions = File.ReadAllText(Path.Combine(steps, "versions.json"));
            var results = new List<StepParityResult>();
            foreach (var c in cases)
            {
                results.Add(StepParity.Compare(c, steps));
                log($"step parity: {c.Name}: {(results[^1].Failures(StepParityTolerance.Float32).Count == 0 ? "equal within tolerance" : "DIFFERS")}");
            }
            Directory.Delete(steps, recursive: true);
            double stepSeconds = clock.Elapsed.TotalSeconds;

            clock.Restart();
            string samples = Path.Combine(dir, "samples");
            log("distribution checks: torchvision's draws");
            ReferencePython.RunScript(python, Path.Combine(scripts, "distribution-samples.py"), [samples, DistributionChecks.Draws.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(30));
            var tests = DistributionChecks.Initialization(samples).Concat(DistributionChecks.Augmentation(samples)).ToList();
            double distributionSeconds = clock.Elapsed.TotalSeconds;

            using var json = JsonDocument.Parse(versions);
            string torch = json.RootElement.GetProperty("torch").GetString() ?? "?";
            string torchvision = json.RootElement.GetProperty("torchvision").GetString() ?? "?";
            md.Append("## Training steps against PyTorch, exactly\n\n");
            md.Append(CultureInfo.InvariantCulture,
                $"Every recipe of `scripts/step-parity.yaml` on both models takes {StepParity.Steps} optimisation steps from the same initial weights on the same batches of standard-normal noise ");
            md.Append(CultureInfo.InvariantCulture,
                $"({cases[0].Spec.Training.Batch} images of {cases[0].Spec.Input.Crop}x{cases[0].Spec.Input.Crop}, {StepParity.Classes} classes; noise has no ties, so max-pool and ReLU pick the same elements on both sides) ");
            md.Append(CultureInfo.InvariantCulture,
                $"in Repro (ModelBuilder, Optimization, Trainer.Step) and in PyTorch {torch} / torchvision {torchvision} (`scripts/step-parity.py`, through `scripts/twin.py`'s recipe functions). ");
            md.Append(CultureInfo.InvariantCulture, $"Repro's input here: {StepParity.Input(cases[0].Spec)} (an experiment's layout on this CPU); PyTorch's: float32 NCHW. ");
            md.Append("The initial weights are torchvision's initialisation with BatchNorm made to look trained (`initial_weights` in the script says how and why). ");
            md.Append("Dropout (the seed head's, ResNet50) is set to p = 0 on both sides: each side's mask would come from its own generator.\n\n");
            md.Append(StepParity.Table(results, StepParityTolerance.Float32));
            md.Append(CultureInfo.InvariantCulture, $"\nTook {stepSeconds:0} s here (both sides, {cases.Count} cases).\n\n");
            md.Append("## Initialisation and augmentation against torchvision, in distribution\n\n");
            md.Append(CultureInfo.InvariantCulture,
                $"Fresh models (10 classes; each architecture with its own classifier and with the seed head) against torchvision's, tensor by tensor; RandomResizedCrop's boxes and the flip, {DistributionChecks.Draws:N0} draws per image size, against torchvision's `RandomResizedCrop.get_params` and `RandomHorizontalFlip` (`scripts/distribution-samples.py`). ");
            md.Append("KS tests on integer-valued quantities (box positions) are conservative.\n");
            md.Append(DistributionChecks.Table(tests));
            md.Append(CultureInfo.InvariantCulture, $"\nTook {distributionSeconds:0} s here.\n");
            int failures = results.Count(r => r.Failures(StepParityTolerance.Float32).Count > 0) + DistributionChecks.Failures(tests).Count;
            return (md.ToString(), failures);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
