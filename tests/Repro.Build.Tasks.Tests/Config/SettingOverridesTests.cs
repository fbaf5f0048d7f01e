namespace Repro.Config.Tests;

/// <summary>-p:Set overrides: read like experiments.yaml's values, errors at -p:Set(1,col), variants' names and checks.</summary>
public sealed class SettingOverridesTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-overrides-").FullName;

    public SettingOverridesTests() => Directory.CreateDirectory(Path.Combine(dir, "data"));

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Config => Path.Combine(dir, "experiments.yaml");

    private ExperimentsFile File(string settings = "") => ExperimentsFile.Parse(new StringReader($$"""
        datasets:
          sample: {kind: idx, root: data}
        experiments:
          - {name: a, dataset: sample, model: densenet121, crop: 32, lr: 0.001{{settings}}}
        """), Config);

    private static ConfigError Single(SettingOverrides overrides, string code)
    {
        Assert.True(overrides.Errors.Count == 1, string.Join("\n", overrides.Errors));
        Assert.Equal(code, overrides.Errors[0].Code);
        return overrides.Errors[0];
    }

    [Fact]
    public void Parse_TwoSettings_NameSortsKeysAndSpellsValuesCanonically()
    {
        var overrides = SettingOverrides.Parse("lr=2e-3;epochs=3", Config);

        Assert.Empty(overrides.Errors);
        Assert.Equal("a@epochs=3,lr=0.002", overrides.NameOf("a"));
        Assert.Equal(overrides.NameOf("a"), SettingOverrides.Parse(" epochs=3 ; lr=0.002;", Config).NameOf("a"));
    }

    [Theory]
    [InlineData("seeds=[1, 2]", "a@seeds=1+2")]
    [InlineData("model=resnet50", "a@model=resnet50")]
    [InlineData("augment=false", "a@augment=false")]
    [InlineData("split=official", "a@split=official")]
    public void NameOf_ValueKinds_SpelledForFolderNames(string set, string name) =>
        Assert.Equal(name, SettingOverrides.Parse(set, Config).NameOf("a"));

    [Fact]
    public void NameOf_TextAFolderCannotCarry_ShortHashInstead()
    {
        string name = SettingOverrides.Parse("description=two words", Config).NameOf("a");

        Assert.Matches(@"^a@description=~[0-9a-f]{8}$", name);
        Assert.NotEqual(name, SettingOverrides.Parse("description=two wordz", Config).NameOf("a"));
    }

    [Fact]
    public void Parse_OutOfRange_SameCodeAndMessageAsYamlAtTheValuesColumn()
    {
        var error = Single(SettingOverrides.Parse("epochs=3;lr=20", Config), "REPRO123");

        Assert.Equal("'lr' must be between 0 and 10, not 20", error.Message);
        Assert.Equal(("-p:Set", 1, 13), (error.File, error.Line, error.Column));
        Assert.Equal("-p:Set(1,13): error REPRO123: 'lr' must be between 0 and 10, not 20", error.ToString());
    }

    [Theory]
    [InlineData("epoch=3", "REPRO119", "unknown key 'epoch'; did you mean 'epochs'?", 1)]
    [InlineData("lr=0.1;name=b", "REPRO119", "'name' cannot be set: a variant is named after its experiment and its settings", 8)]
    [InlineData("lr", "REPRO132", "'lr' is not key=value (such as lr=0.002; separate settings with ';' and quote the whole property)", 1)]
    [InlineData("lr=0.1;lr=0.2", "REPRO133", "'lr' is set twice", 8)]
    [InlineData("model=resnet51", "REPRO124", "'model' must be one of resnet50, densenet121, not 'resnet51'; did you mean 'resnet50'?", 7)]
    [InlineData("epochs=two", "REPRO122", "'epochs' must be a whole number, not 'two'", 8)]
    [InlineData("seeds=[1, 1]", "REPRO125", "seed 1 is listed twice in 'seeds'", 11)]
    public void Parse_BadItem_ReportsCodeMessageAndColumn(string set, string code, string message, int column)
    {
        var error = Single(SettingOverrides.Parse(set, Config), code);

        Assert.Equal((message, column), (error.Message, error.Column));
    }

    [Fact]
    public void ApplyTo_Overrides_VariantKeepsTheRestAndItsSweep()
    {
        var file = File(", seeds: [1, 2]");
        var parent = Assert.Single(file.Experiments);

        var (variant, errors) = SettingOverrides.Parse("epochs=3;lr=0.002", Config).ApplyTo(parent, file.Datasets);

        Assert.Empty(errors);
        Assert.NotNull(variant);
        Assert.Equal("a@epochs=3,lr=0.002", variant.Name);
        Assert.Equal(parent with { Name = variant.Name, Training = parent.Training with { Epochs = 3, LearningRate = 0.002 } }, variant, new SpecComparer(dir));
        Assert.Equal([1UL, 2], variant.Seeds);
        Assert.Equal(parent.Canonical(Stage.Split, dir), variant.Canonical(Stage.Split, dir));
        Assert.NotEqual(parent.Canonical(Stage.Train, dir), variant.Canonical(Stage.Train, dir));
    }

    [Fact]
    public void ApplyTo_VariantBreaksARule_ErrorAtTheOverrideNamingTheVariant()
    {
        var file = File();

        var (variant, errors) = SettingOverrides.Parse("lr=0.1;crop=16", Config).ApplyTo(Assert.Single(file.Experiments), file.Datasets);

        Assert.Null(variant);
        var error = Assert.Single(errors);
        Assert.Equal(("REPRO115", 1, 8), (error.Code, error.Line, error.Column));
        Assert.StartsWith("variant a@crop=16,lr=0.1: crop 16 is too small for densenet121 (minimum 29)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ApplyTo_UnknownDataset_Repro109AtTheOverride()
    {
        var file = File();

        var (_, errors) = SettingOverrides.Parse("dataset=sampel", Config).ApplyTo(Assert.Single(file.Experiments), file.Datasets);

        var error = Assert.Single(errors);
        Assert.Equal(("REPRO109", 1), (error.Code, error.Column));
        Assert.Contains("did you mean 'sample'?", error.Message);
    }

    [Fact]
    public void Parse_YamlNameWithVariantSeparator_Repro106()
    {
        var file = ExperimentsFile.Parse(new StringReader("""
            datasets:
              sample: {kind: idx, root: data}
            experiments:
              - {name: a@b, dataset: sample}
            """), Config);

        var error = Assert.Single(file.Errors);
        Assert.Equal(("REPRO106", 4, 12), (error.Code, error.Line, error.Column));
    }

    [Theory]
    [InlineData("a@epochs=3,lr=0.002", true, "a")]
    [InlineData("sample-resnet50", false, "sample-resnet50")]
    public void ExperimentVariant_Name_ParentAndWhetherAVariant(string name, bool isVariant, string parent) =>
        Assert.Equal((isVariant, parent), (ExperimentVariant.IsVariant(name), ExperimentVariant.ParentOf(name)));

    /// <summary>Two specs are equal when their every setting and their run's stamps are.</summary>
    private sealed class SpecComparer(string dir) : IEqualityComparer<ExperimentSpec>
    {
        public bool Equals(ExperimentSpec? x, ExperimentSpec? y) =>
            x is not null && y is not null && RunJson.Serialize(x) == RunJson.Serialize(y) && x.Canonical(Stage.All, dir) == y.Canonical(Stage.All, dir);

        public int GetHashCode(ExperimentSpec obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }
}
