using Repro.Build.Tasks.Tests;

namespace Repro.Config.Tests;

/// <summary><c>matrix:</c> entries: their expansion, naming, include/exclude, and each error at its line and column.</summary>
public sealed class ExperimentMatrixTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-matrix-").FullName;

    public ExperimentMatrixTests()
    {
        Directory.CreateDirectory(Path.Combine(dir, "a"));
        Directory.CreateDirectory(Path.Combine(dir, "b"));
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private const string Datasets = """
        datasets:
          a: {kind: idx, root: a}
          b: {kind: idx, root: b}
        experiments:

        """;

    private ExperimentsFile Parse(string experiments) =>
        ExperimentsFile.Parse(new StringReader(Datasets + experiments), Path.Combine(dir, "experiments.yaml"));

    private static ConfigError Single(ExperimentsFile file, string code)
    {
        Assert.True(file.Errors.Count == 1, string.Join("\n", file.Errors));
        Assert.Equal(code, file.Errors[0].Code);
        return file.Errors[0];
    }

    // The shipped experiments.yaml is written with matrices; the explicit list it replaced is kept as a fixture. Every run
    // of every experiment (each seed of a sweep) must be scheduled exactly as before: the same run stamp (run.json, the
    // host's contract) and the same stage stamps, so the lock's fingerprints and every up-to-date output stay valid.
    // Only the entry's line in run.json may move (where the experiment is written), so it is left out of the comparison.
    [Fact]
    public void ShippedFile_Expansion_SchedulesExactlyTheRunsOfTheExplicitList()
    {
        string config = Path.Combine(RepositoryRoot.Path, "experiments.yaml");
        string fixture = Path.Combine(RepositoryRoot.Path, "tests", "Repro.Build.Tasks.Tests", "Config", "experiments.explicit.yaml");
        var shipped = ExperimentsFile.Load(config);
        // Parsed as if it were the shipped file, so that its relative paths resolve to the same places.
        var expected = ExperimentsFile.Parse(new StringReader(File.ReadAllText(fixture)), config);

        Assert.Empty(shipped.Errors);
        Assert.Empty(expected.Errors);
        Assert.Equal(36, expected.Experiments.Count);
        // Entries added since (the twin-quick and twin-full studies) come on top; the 36 keep their order and their runs.
        var byName = shipped.Experiments.ToDictionary(e => e.Name);
        Assert.Equal(expected.Experiments.Select(e => e.Name), shipped.Experiments.Select(e => e.Name).Where(n => expected.Experiments.Any(x => x.Name == n)));
        foreach (var before in expected.Experiments)
            Assert.Equal(Stamps(config, before), Stamps(config, byName[before.Name]));
    }

    /// <summary>Every run's run.json (line numbers zeroed) and split, train and test stamps, as the build writes them.</summary>
    private static string Stamps(string config, ExperimentSpec experiment)
    {
        var runs = experiment.Seeds.Select(seed => ScheduledRun.Create(config, experiment, experiment.IsSweep ? seed : null, Path.Combine(RepositoryRoot.Path, "artifacts")));
        return string.Concat(runs.Select(run =>
        {
            var placeless = run with { Spec = run.Spec with { Line = 0, Dataset = run.Spec.Dataset with { Line = 0 } } };
            return placeless.ToJson() + run.Canonical(Stage.Split) + run.Canonical(Stage.Train) + run.Canonical(Stage.Test);
        }));
    }

    [Fact]
    public void Parse_TwoAxes_OneExperimentPerCombinationFirstAxisOutermost()
    {
        var file = Parse("""
              - name: "{dataset}-{model}-probe"
                matrix:
                  dataset: [a, b]
                  model: [resnet50, densenet121]
                tags: [study]
                crop: 32
                tutorial: "flower-{model}"
            """);

        Assert.Empty(file.Errors);
        Assert.Equal(["a-resnet50-probe", "a-densenet121-probe", "b-resnet50-probe", "b-densenet121-probe"], file.Experiments.Select(e => e.Name));
        Assert.All(file.Experiments, e => Assert.Equal(["study"], e.Tags));
        Assert.All(file.Experiments, e => Assert.Equal(32, e.Input.Crop));
        Assert.Equal([ModelKind.ResNet50, ModelKind.DenseNet121, ModelKind.ResNet50, ModelKind.DenseNet121], file.Experiments.Select(e => e.Model.Architecture));
        Assert.Equal(["a", "a", "b", "b"], file.Experiments.Select(e => e.Dataset.Name));
        Assert.Equal("flower-densenet121", file.Experiments[1].Tutorial);
        Assert.All(file.Experiments, e => Assert.Equal(5, e.Line));
    }

    [Fact]
    public void Parse_IncludeMatchingAndNew_AddsKeysOrACombination()
    {
        var file = Parse("""
              - name: "{dataset}-{model}"
                matrix:
                  dataset: [a]
                  model: [resnet50, densenet121]
                include:
                  - {model: densenet121, epochs: 3}
                  - {dataset: b, model: resnet50, crop: 64}
                crop: 32
            """);

        Assert.Empty(file.Errors);
        Assert.Equal(["a-resnet50", "a-densenet121", "b-resnet50"], file.Experiments.Select(e => e.Name));
        Assert.Equal([1, 3, 1], file.Experiments.Select(e => e.Training.Epochs));
        Assert.Equal([32, 32, 64], file.Experiments.Select(e => e.Input.Crop));
    }

    [Fact]
    public void Parse_LabelledAxisAndExclude_SetsEachLabelsKeysAndDropsTheExcluded()
    {
        var file = Parse("""
              - name: "{model}{variant}"
                matrix:
                  model: [resnet50, densenet121]
                  variant:
                    "": {}
                    -long: {epochs: 4, lr: 0.01}
                exclude:
                  - {model: densenet121, variant: -long}
                dataset: a
                crop: 32
            """);

        Assert.Empty(file.Errors);
        Assert.Equal(["resnet50", "resnet50-long", "densenet121"], file.Experiments.Select(e => e.Name));
        Assert.Equal([(1, 2e-4), (4, 0.01), (1, 2e-4)], file.Experiments.Select(e => (e.Training.Epochs, e.Training.LearningRate)));
    }

    [Fact]
    public void Parse_UnknownAxisKey_Repro119WithSuggestionAtTheKey()
    {
        var file = Parse("""
              - name: "{modle}"
                matrix:
                  modle: [resnet50]
                dataset: a
            """);

        var error = Single(file, "REPRO119");
        Assert.StartsWith("unknown axis key 'modle'; did you mean 'model'?", error.Message, StringComparison.Ordinal);
        Assert.Equal((7, 7), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("model: []", "axis 'model' is empty: list at least one value", 7, 14)]
    [InlineData("model: resnet50", "axis 'model' must be a list of its values, such as [resnet50, densenet121]", 7, 14)]
    [InlineData("variant: {}", "axis 'variant' is empty: give at least one label with the keys it sets", 7, 16)]
    public void Parse_EmptyOrScalarAxis_Repro140AtTheAxis(string axis, string message, int line, int column)
    {
        var file = Parse($"""
              - name: "x-{axis.Split(':')[0]}"
                matrix:
                  {axis}
                dataset: a
            """);

        var error = Single(file, "REPRO140");
        Assert.Equal((message, line, column), (error.Message, error.Line, error.Column));
    }

    [Fact]
    public void Parse_TemplateNamesNoAxis_Repro141AtTheTemplateAndNothingExpanded()
    {
        var file = Parse("""
              - name: "{datset}-{model}"
                matrix:
                  dataset: [a, b]
                  model: [resnet50]
            """);

        var error = Single(file, "REPRO141");
        Assert.Equal("'{datset}' in 'name' is not an axis of this matrix (axes: dataset, model)", error.Message);
        Assert.Equal((5, 11), (error.Line, error.Column));
        Assert.Empty(file.Experiments);
    }

    [Fact]
    public void Parse_DuplicateExpandedName_Repro107NamingTheCombination()
    {
        var file = Parse("""
              - name: "{dataset}-x"
                matrix:
                  dataset: [a, b]
                  model: [resnet50, densenet121]
                crop: 32
            """);

        Assert.Equal(2, file.Errors.Count);
        Assert.All(file.Errors, e => Assert.Equal(("REPRO107", 5, 11), (e.Code, e.Line, e.Column)));
        Assert.Equal("matrix combination dataset=a, model=densenet121: duplicate experiment name 'a-x' (first defined on line 5)", file.Errors[0].Message);
    }

    [Fact]
    public void Parse_CombinationFailsValidation_ReportedAtItsValueNamingTheCombination()
    {
        var file = Parse("""
              - name: "{dataset}-{model}"
                matrix:
                  dataset: [a, b]
                  model: [resnet50, densenet121]
                crop: 16
            """);

        Assert.Equal(2, file.Errors.Count);
        Assert.All(file.Errors, e => Assert.Equal(("REPRO115", 9, 11), (e.Code, e.Line, e.Column)));
        Assert.StartsWith("matrix combination dataset=a, model=densenet121: crop 16 is too small for densenet121", file.Errors[0].Message, StringComparison.Ordinal);
        Assert.StartsWith("matrix combination dataset=b, model=densenet121: ", file.Errors[1].Message, StringComparison.Ordinal);
        Assert.Equal(4, file.Experiments.Count);
    }

    [Fact]
    public void Parse_BadSharedValue_ReportedOnceForAllCombinations()
    {
        var file = Parse("""
              - name: "{dataset}"
                matrix:
                  dataset: [a, b]
                epochs: two
            """);

        var error = Single(file, "REPRO122");
        Assert.Equal((8, 13), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_ExcludeNamesNoAxisOrMatchesNothing_Repro142And143()
    {
        var file = Parse("""
              - name: "{dataset}"
                matrix:
                  dataset: [a, b]
                exclude:
                  - {epochs: 2}
                  - {dataset: c}
            """);

        Assert.Equal(["REPRO142 9,10", "REPRO143 10,9"], file.Errors.Select(e => $"{e.Code} {e.Line},{e.Column}"));
        Assert.Equal(2, file.Experiments.Count);
    }

    [Fact]
    public void Parse_IncludeAddingACombinationWithoutEveryAxis_Repro144()
    {
        var file = Parse("""
              - name: "{dataset}-{model}"
                matrix:
                  dataset: [a]
                  model: [resnet50]
                include:
                  - {dataset: b, epochs: 2}
            """);

        var error = Single(file, "REPRO144");
        Assert.Equal("this 'include' item matches no combination, so it adds one, which needs a value for every axis: 'model' is missing", error.Message);
        Assert.Equal((10, 9), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_MatrixWithoutName_Repro105Once()
    {
        var file = Parse("""
              - matrix:
                  dataset: [a, b]
            """);

        Assert.Equal((5, 5), (Single(file, "REPRO105").Line, file.Errors[0].Column));
    }

    [Fact]
    public void Parse_IncludeWithoutMatrix_Repro119SaysWhereItBelongs()
    {
        var file = Parse("""
              - name: x
                dataset: a
                include: [{epochs: 2}]
            """);

        Assert.Equal("'include' only goes in an experiment that has 'matrix:'", Single(file, "REPRO119").Message);
    }
}
