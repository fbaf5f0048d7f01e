namespace Repro.Config.Tests;

/// <summary>Each validation error of experiments.yaml: its code, message and the line/column it points at.</summary>
public sealed class ExperimentsFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-config-").FullName;

    public ExperimentsFileTests() => Directory.CreateDirectory(Path.Combine(dir, "data"));

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private ExperimentsFile Parse(string yaml) =>
        ExperimentsFile.Parse(new StringReader(yaml), Path.Combine(dir, "experiments.yaml"));

    private static ConfigError Single(ExperimentsFile file, string code)
    {
        Assert.True(file.Errors.Count == 1, string.Join("\n", file.Errors));
        var error = file.Errors[0];
        Assert.Equal(code, error.Code);
        return error;
    }

    private const string Datasets = """
        datasets:
          sample:
            kind: idx
            root: data
        """;

    [Fact]
    public void Parse_ValidFile_ResolvesDefaultsWithoutErrors()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
            """);

        Assert.Empty(file.Errors);
        var a = Assert.Single(file.Experiments);
        // Built-in defaults must have the types the spec reads (a boxed int default once broke Crop).
        Assert.Equal(224, a.Input.Crop);
        Assert.Equal(32, a.Training.Batch);
        Assert.Equal(128, a.Evaluation.TestBatch);
        Assert.Contains("\"crop\": 224", a.Canonical(Stage.Train, dir));
    }

    [Fact]
    public void Parse_SeedsCountUnderDefaults_SweepsSeedsOneToNAndEachRunHasItsOwnStamps()
    {
        var file = Parse(Datasets + """

            defaults:
              seeds: 3
            experiments:
              - name: a
                dataset: sample
              - name: b
                dataset: sample
                seed: 7
                seeds: [7, 11]
            """);

        Assert.Empty(file.Errors);
        Assert.Equal([1UL, 2, 3], file.Experiments[0].Seeds);
        Assert.True(file.Experiments[0].IsSweep);
        Assert.Equal([7UL, 11], file.Experiments[1].Seeds);
        var run = file.Experiments[0].WithSeed(2);
        Assert.Equal(2UL, run.Seed);
        Assert.Contains("\"seed\": 2", run.Canonical(Stage.Split, dir));
        // The sweep itself is no stage's setting: adding a seed must not make the other seeds' stamps stale.
        Assert.DoesNotContain("seeds", run.Canonical(Stage.All, dir));
    }

    [Fact]
    public void Parse_NoSeeds_RunsTheExperimentsOwnSeedOnly()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                seed: 4
            """);

        var a = Assert.Single(file.Experiments);
        Assert.False(a.IsSweep);
        Assert.Equal([4UL], a.Seeds);
    }

    [Theory]
    [InlineData("seeds: []", "REPRO125", "non-empty list")]
    [InlineData("seeds: [1, 1]", "REPRO125", "listed twice")]
    [InlineData("seeds: [1, -2]", "REPRO125", "whole numbers")]
    [InlineData("seeds: 0", "REPRO123", "between 1 and 1000")]
    [InlineData("seeds: many", "REPRO122", "a count of seeds")]
    public void Parse_BadSeeds_ReportsWhatIsWrong(string line, string code, string message)
    {
        var file = Parse(Datasets + $"""

            experiments:
              - name: a
                dataset: sample
                {line}
            """);

        Assert.Contains(message, Single(file, code).Message);
    }

    [Fact]
    public void Parse_UnknownExperimentKey_ReportsKeyPositionAndSuggestion()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                epoch: 3
            """);

        var error = Single(file, "REPRO119");
        Assert.Equal("unknown key 'epoch'; did you mean 'epochs'?", error.Message);
        Assert.Equal((8, 5), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_UnknownDatasetKey_ReportsKeyPositionAndSuggestion()
    {
        var file = Parse("""
            datasets:
              sample:
                kind: idx
                rot: data
            experiments: []
            """);

        Assert.Contains(file.Errors, e => e.Code == "REPRO119" && e.Message == "unknown key 'rot'; did you mean 'root'?" && (e.Line, e.Column) == (4, 5));
    }

    [Fact]
    public void Parse_UnknownTopLevelKey_ReportsSuggestion()
    {
        var file = Parse(Datasets + """

            experiment:
              - name: a
            """);

        Assert.Contains(file.Errors, e => e.Code == "REPRO119" && e.Message == "unknown key 'experiment'; did you mean 'experiments'?" && (e.Line, e.Column) == (5, 1));
    }

    [Fact]
    public void Parse_WrongType_ReportsValuePosition()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                epochs: two
            """);

        var error = Single(file, "REPRO122");
        Assert.Equal("'epochs' must be a whole number, not 'two'", error.Message);
        Assert.Equal((8, 13), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_BoolAsList_ReportsSingleValueExpected()
    {
        var file = Parse(Datasets + """

            experiments:
              - {name: a, dataset: sample, augment: [true]}
            """);

        var error = Single(file, "REPRO121");
        Assert.Equal("'augment' must be a single value, not a list", error.Message);
        Assert.Equal((6, 41), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_OutOfRange_ReportsBoundsAndValuePosition()
    {
        var file = Parse(Datasets + """

            defaults:
              lr: 20
            experiments:
              - name: a
                dataset: sample
            """);

        var error = Single(file, "REPRO123");
        Assert.Equal("'lr' must be between 0 and 10, not 20", error.Message);
        Assert.Equal((6, 7), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_SplitFractionOutOfRange_ReportsError()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                split: 1.5
            """);

        var error = Single(file, "REPRO118");
        Assert.Equal("'split' must be between 0 and 1 (exclusive), not 1.5", error.Message);
        Assert.Equal((8, 12), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_CropBelowModelMinimum_ReportsErrorAtCropWithMinimumAndLayer()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                model: densenet121
                crop: 28
            """);

        var error = Single(file, "REPRO115");
        Assert.Equal("crop 28 is too small for densenet121 (minimum 29): its feature map would be empty after "
            + "'features.transition3.pool' (2x2, stride 2, padding 0; 1x1 in)", error.Message);
        Assert.Equal((9, 11), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_CropAtModelMinimumFromDefaults_Accepted()
    {
        var file = Parse(Datasets + """

            defaults:
              crop: 29
            experiments:
              - name: a
                dataset: sample
                model: densenet121
              - name: b
                dataset: sample
                model: resnet50
                crop: 8
            """);

        Assert.Empty(file.Errors);
    }

    [Fact]
    public void Parse_SmallCropFromDefaults_ReportsErrorAtModel()
    {
        var file = Parse(Datasets + """

            defaults:
              crop: 16
            experiments:
              - name: a
                dataset: sample
                model: densenet121
            """);

        var error = Single(file, "REPRO115");
        Assert.StartsWith("crop 16 is too small for densenet121 (minimum 29)", error.Message, StringComparison.Ordinal);
        Assert.Equal((10, 12), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_DuplicateName_ReportsSecondNameAndFirstLine()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
              - name: a
                dataset: sample
            """);

        var error = Single(file, "REPRO107");
        Assert.Equal("duplicate experiment name 'a' (first defined on line 6)", error.Message);
        Assert.Equal((8, 11), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_UnknownDataset_ReportsSuggestionAndDefinedNames()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sampel
            """);

        var error = Single(file, "REPRO109");
        Assert.Equal("unknown dataset 'sampel'; did you mean 'sample'? (defined: sample)", error.Message);
        Assert.Equal((7, 14), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_UnknownModel_ReportsChoicesAndSuggestion()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                model: resnet51
            """);

        var error = Single(file, "REPRO124");
        Assert.Equal("'model' must be one of resnet50, densenet121, not 'resnet51'; did you mean 'resnet50'?", error.Message);
        Assert.Equal((8, 12), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_MissingDatasetRoot_ReportsRootPosition()
    {
        var file = Parse("""
            datasets:
              sample:
                kind: idx
                root: nowhere
            experiments: []
            """);

        var error = Single(file, "REPRO113");
        Assert.Equal($"dataset 'sample': folder not found: {Path.Combine(dir, "nowhere")} (set 'download: true' to fetch it)", error.Message);
        Assert.Equal((4, 11), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_MissingPretrainedFile_ReportsValuePosition()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                pretrained: weights/missing.pth
            """);

        var error = Single(file, "REPRO110");
        Assert.Equal($"pretrained weights not found: {Path.Combine(dir, "weights", "missing.pth")}", error.Message);
        Assert.Equal((8, 17), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_NonScalarKey_ReportsErrorInsteadOfThrowing()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                ? [epochs]
                : 2
            """);

        var error = Single(file, "REPRO117");
        Assert.Equal("a key must be a plain word, not a list or mapping", error.Message);
        Assert.Equal(8, error.Line);
    }

    [Fact]
    public void Parse_ExperimentNotMapping_ReportsNotMapping()
    {
        var file = Parse(Datasets + """

            experiments:
              - just-a-name
            """);

        var error = Single(file, "REPRO116");
        Assert.Equal("an experiment must be a mapping of 'key: value' lines", error.Message);
        Assert.Equal((6, 5), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_ExperimentsNotList_ReportsNotListOnly()
    {
        var file = Parse(Datasets + """

            experiments:
              name: a
            """);

        var error = Single(file, "REPRO103");
        Assert.Equal((6, 3), (error.Line, error.Column));
    }

    [Fact]
    public void Parse_NoExperimentsKey_ReportsNoExperimentsList()
    {
        var file = Parse(Datasets);

        Assert.Equal("no 'experiments:' list", Single(file, "REPRO104").Message);
    }

    [Fact]
    public void Parse_ScalarDefaultsAndNoExperimentsKey_ReportsBoth()
    {
        // A wrong 'defaults:' once hid the missing list: both were checked through one code.
        var file = Parse(Datasets + """

            defaults: 3
            """);

        Assert.Equal(["REPRO116 5,11", "REPRO104 1,1"], file.Errors.Select(e => $"{e.Code} {e.Line},{e.Column}"));
    }

    [Fact]
    public void Parse_SeveralErrors_ReportsAllInFileOrder()
    {
        var file = Parse("""
            datasets:
              sample:
                kind: idx
                root: data
            experiments:
              - name: a
                dataset: sample
                epochs: -1
                colour: red
              - name: b
                dataset: nope
              - name: a
                dataset: sample
            """);

        Assert.Equal(
            ["REPRO123 8,13", "REPRO119 9,5", "REPRO109 11,14", "REPRO107 12,11"],
            file.Errors.Select(e => $"{e.Code} {e.Line},{e.Column}"));
    }

    [Fact]
    public void Parse_UnknownTutorial_ReportsSuggestion()
    {
        var file = Parse(Datasets + """

            experiments:
              - name: a
                dataset: sample
                tutorial: flower-resnet
            """);

        var error = Single(file, "REPRO114");
        Assert.StartsWith("unknown tutorial result 'flower-resnet'; did you mean 'flower-resnet50'?", error.Message);
        Assert.Equal((8, 15), (error.Line, error.Column));
    }
}
