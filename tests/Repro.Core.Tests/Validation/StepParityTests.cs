using System.Diagnostics;
using Repro.Config;
using Repro.Testing;
using Repro.Core.Validation;
using Xunit.Abstractions;

namespace Repro.Core.Tests.Validation;

/// <summary>
/// The PyTorch side of every case, run once for the whole class: scripts/step-parity.py over the manifest of
/// scripts/step-parity.yaml, in a temporary folder (the reference and noise files of a full-training ResNet50 case are
/// about 95 MB each). Runs on first use, so that a machine without PyTorch skips the tests instead of failing here. The
/// timeout is a guard for a machine shared with other jobs: on two idle cores the script takes a minute or two.
/// </summary>
public sealed class StepParityFixture : IDisposable
{
    private readonly Lazy<(string Directory, string Log, TimeSpan Elapsed)> reference;
    private readonly string dir = Directory.CreateTempSubdirectory("repro-step-parity-").FullName;

    public StepParityFixture()
    {
        Cases = StepParity.Cases(ExternalSystems.Script("step-parity.yaml"));
        reference = new(() =>
        {
            StepParity.WriteManifest(dir, Cases);
            var clock = Stopwatch.StartNew();
            var (code, log) = ExternalSystems.Run(ExternalSystems.Python, [ExternalSystems.Script("step-parity.py"), dir], TimeSpan.FromMinutes(30));
            Assert.True(code == 0, log);
            return (dir, log, clock.Elapsed);
        });
    }

    /// <summary>Every recipe on every model, in the recipes file's order.</summary>
    public IReadOnlyList<StepParityCase> Cases { get; }

    /// <summary>The folder holding PyTorch's initial weights, inputs and references, the script's log, and how long it took.</summary>
    public (string Directory, string Log, TimeSpan Elapsed) Reference => reference.Value;

    public void Dispose() => Directory.Delete(dir, recursive: true);
}

public sealed class StepParityTests(StepParityFixture fixture, ITestOutputHelper output) : IClassFixture<StepParityFixture>
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in StepParity.Cases(ExternalSystems.Script("step-parity.yaml")))
            data.Add(c.Recipe, Choice.Name(c.Spec.Model.Architecture));
        return data;
    }

    [RequiresTheory(ExternalSystem.PyTorch)]
    [MemberData(nameof(Cases))]
    public void Compare_ThreeStepsFromPyTorchWeightsOnNoise_WithinFloat32Tolerance(string recipe, string model)
    {
        var c = fixture.Cases.Single(c => c.Recipe == recipe && Choice.Name(c.Spec.Model.Architecture) == model);
        var (dir, log, elapsed) = fixture.Reference;
        output.WriteLine($"PyTorch side (all cases, one process): {elapsed.TotalSeconds:0} s");

        var clock = Stopwatch.StartNew();
        var result = StepParity.Compare(c, dir);
        output.WriteLine($"Repro side: {clock.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine(StepParity.Table([result], StepParityTolerance.Float32));
        output.WriteLine("losses (Repro, PyTorch): " + string.Join("; ", result.Losses.Select(l => $"{l.Repro:R}, {l.PyTorch:R}")));

        var failures = result.Failures(StepParityTolerance.Float32);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Cases_RecipesFile_EveryRecipeOnBothModels()
    {
        var recipes = fixture.Cases.Select(c => c.Recipe).Distinct().ToList();

        Assert.Equal(["full", "frozen-bn-eval", "frozen-bn-train", "sgd-nesterov", "adam", "adamw", "label-smoothing", "clip", "warmup-cosine", "seed-head"], recipes);
        Assert.Equal(recipes.Count * 2, fixture.Cases.Count);
        Assert.All(recipes, r => Assert.Equal([ModelKind.ResNet50, ModelKind.DenseNet121], fixture.Cases.Where(c => c.Recipe == r).Select(c => c.Spec.Model.Architecture)));
    }
}
