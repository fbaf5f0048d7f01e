namespace Repro.Config.Tests;

/// <summary>Each cross-field rule on its own, over typed specs: what breaks it, its code, and the keys its error points at.</summary>
public sealed class ExperimentRulesTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-rules-").FullName;

    public ExperimentRulesTests() => Directory.CreateDirectory(Path.Combine(dir, "data"));

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private ExperimentsFile Parse(string experiments) =>
        ExperimentsFile.Parse(new StringReader("datasets:\n  sample: {kind: idx, root: data}\n" + experiments), Path.Combine(dir, "experiments.yaml"));

    /// <summary>A valid experiment (ResNet50, crop 32, frozen backbone, augment on), which each case then breaks one way.</summary>
    private ExperimentSpec Valid()
    {
        var file = Parse("""
            experiments:
              - {name: a, dataset: sample, model: resnet50, crop: 32, freeze: backbone, augment: true}
            """);
        Assert.Empty(file.Errors);
        return Assert.Single(file.Experiments);
    }

    private static ExperimentRule Rule(string name) => Assert.Single(ExperimentRules.All, r => r.Name == name);

    public static TheoryData<string, string, Func<ExperimentSpec, ExperimentSpec>, string[]> Broken() => new()
    {
        { "pretrained-file-exists", "REPRO110", e => e with { Model = e.Model with { Pretrained = "/nowhere/w.pth" } }, ["pretrained"] },
        { "crop-fits-model", "REPRO115", e => e with { Model = e.Model with { Architecture = ModelKind.DenseNet121 }, Input = e.Input with { Crop = 16 } }, ["crop", "model"] },
        { "frozen-bn-train-needs-frozen-backbone", "REPRO126", e => e with { Model = e.Model with { Freeze = FreezeMode.None, FrozenBatchNormTrains = true } }, ["frozen_bn_train", "freeze"] },
        { "load-nonstrict-needs-pretrained", "REPRO126", e => e with { Model = e.Model with { LoadNonStrict = true } }, ["load_nonstrict", "pretrained"] },
        { "test-augment-needs-augment", "REPRO126", e => e with { Input = e.Input with { Augment = false, TestAugment = true } }, ["test_augment", "augment"] },
        { "cache-features-needs-frozen-backbone", "REPRO126", e => e with { Model = e.Model with { Freeze = FreezeMode.None }, Training = e.Training with { CacheFeatures = true } }, ["cache_features", "freeze"] },
        { "tutorial-is-known", "REPRO114", e => e with { Tutorial = "flower-resnet" }, ["tutorial"] },
        { "portable-needs-cpu", "REPRO128", e => e with { Runtime = e.Runtime with { Numerics = NumericsMode.Portable, Device = DeviceChoice.Auto } }, ["numerics", "device"] },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void Check_BrokenSpec_ReportsCodeAndKeys(string name, string code, Func<ExperimentSpec, ExperimentSpec> breakIt, string[] keys)
    {
        var rule = Rule(name);

        var violation = rule.Check(breakIt(Valid()), dir);

        Assert.NotNull(violation);
        Assert.Equal(code, rule.Code);
        Assert.Equal(keys, violation.Keys);
        Assert.Equal([name], ExperimentRules.Violations(breakIt(Valid()), dir).Select(v => v.Rule.Name));
    }

    [Fact]
    public void Violations_ValidSpec_None() => Assert.Empty(ExperimentRules.Violations(Valid(), dir));

    [Fact]
    public void All_EveryRule_IsTestedAndNamedOnce()
    {
        var tested = Broken().Select(row => (string)row[0]).ToList();
        Assert.Equal(ExperimentRules.All.Select(r => r.Name).Order(), tested.Order());
        Assert.Equal(ExperimentRules.All.Count, ExperimentRules.All.Select(r => r.Name).Distinct().Count());
    }

    [Fact]
    public void CropFitsModel_AtTheModelsMinimum_Passes()
    {
        var e = Valid();
        var densenet = e with { Model = e.Model with { Architecture = ModelKind.DenseNet121 }, Input = e.Input with { Crop = ModelInput.MinimumCrop(ModelKind.DenseNet121) } };

        Assert.Null(Rule("crop-fits-model").Check(densenet, dir));
    }

    [Fact]
    public void PretrainedFileExists_ImageNetOrUnderArtifacts_Passes()
    {
        var e = Valid();
        var rule = Rule("pretrained-file-exists");

        Assert.Null(rule.Check(e with { Model = e.Model with { Pretrained = ModelSpec.ImageNetWeights } }, dir));
        Assert.Null(rule.Check(e with { Model = e.Model with { Pretrained = Path.Combine(dir, "artifacts", "twin", "w.pth") } }, dir));
    }

    [Fact]
    public void Parse_CacheFeaturesWithoutFrozenBackbone_ErrorAtTheSwitch()
    {
        var file = Parse("""
            experiments:
              - name: a
                dataset: sample
                cache_features: true
            """);

        var error = Assert.Single(file.Errors);
        Assert.Equal(("REPRO126", 6, 21), (error.Code, error.Line, error.Column));
        Assert.StartsWith("'cache_features' needs 'freeze: backbone'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SwitchFromDefaultsAndFreezeWritten_ErrorAtFreeze()
    {
        var file = Parse("""
            defaults:
              cache_features: true
            experiments:
              - name: a
                dataset: sample
                freeze: none
            """);

        var error = Assert.Single(file.Errors);
        Assert.Equal(("REPRO126", 8, 13), (error.Code, error.Line, error.Column));
    }
}
