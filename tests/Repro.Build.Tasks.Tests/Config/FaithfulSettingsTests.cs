namespace Repro.Config.Tests;

/// <summary>The dataset key <c>classes</c> and the tutorial-faithful switches of experiments.yaml: parsing, validation, stamps.</summary>
public sealed class FaithfulSettingsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-faithful-").FullName;

    public FaithfulSettingsTests() => Directory.CreateDirectory(Path.Combine(dir, "data"));

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private ExperimentsFile Parse(string classes, string settings) =>
        ExperimentsFile.Parse(new StringReader($"""
            datasets:
              sample:
                kind: idx
                root: data
            {classes}
            experiments:
              - name: a
                dataset: sample
            {settings}
            """), Path.Combine(dir, "experiments.yaml"));

    [Fact]
    public void Parse_ClassesList_KeptInOrderAndInEveryStageStamp()
    {
        var file = Parse("    classes: [5, 6, 7, 8, 9]", "");

        Assert.Empty(file.Errors);
        var a = Assert.Single(file.Experiments);
        Assert.Equal([5, 6, 7, 8, 9], a.Dataset.Classes!);
        foreach (var stage in new[] { Stage.Split, Stage.Train, Stage.Test })
            Assert.Contains("\"dataset.classes\": [", a.Canonical(stage, dir));
    }

    [Theory]
    [InlineData("    classes: [5, 5]", "5 is listed twice in 'classes'")]
    [InlineData("    classes: []", "'classes' must be a non-empty list of whole numbers such as [5, 6, 7]")]
    [InlineData("    classes: 5", "'classes' must be a non-empty list of whole numbers such as [5, 6, 7]")]
    [InlineData("    classes: [a]", "'classes' must list whole numbers")]
    [InlineData("    classes: [-1]", "'classes' must be between 0 and 100000, not -1")]
    public void Parse_BadClasses_ErrorNamesTheProblem(string classes, string message)
    {
        var file = Parse(classes, "");

        var error = Assert.Single(file.Errors);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Canonical_SwitchesAndClassesUnset_StampsAsBeforeTheKeysExisted()
    {
        var a = Assert.Single(Parse("", "").Experiments);

        string train = a.Canonical(Stage.Train, dir);

        // Left out at their defaults, so every existing experiment keeps its fingerprints and locked results.
        Assert.DoesNotContain("frozen_bn_train", train);
        Assert.DoesNotContain("test_augment", train);
        Assert.DoesNotContain("load_nonstrict", train);
        Assert.DoesNotContain("dataset.classes", train);
    }

    [Theory]
    [InlineData("frozen_bn_train")]
    [InlineData("test_augment")]
    [InlineData("load_nonstrict")]
    public void Canonical_SwitchOn_InTrainAndTestStampsNotSplit(string key)
    {
        string weights = Path.Combine(dir, "w.pth");
        File.WriteAllBytes(weights, []);
        var file = Parse("", $"    freeze: backbone\n    pretrained: w.pth\n    {key}: true");

        Assert.Empty(file.Errors);
        var a = Assert.Single(file.Experiments);
        Assert.Contains($"\"{key}\": true", a.Canonical(Stage.Train, dir));
        Assert.Contains($"\"{key}\": true", a.Canonical(Stage.Test, dir));
        Assert.DoesNotContain(key, a.Canonical(Stage.Split, dir));
        Assert.NotEqual(Assert.Single(Parse("", "    freeze: backbone\n    pretrained: w.pth").Experiments).Fingerprint(Stage.Train, dir), a.Fingerprint(Stage.Train, dir));
    }

    [Theory]
    [InlineData("    frozen_bn_train: true", "'frozen_bn_train' needs 'freeze: backbone' (it leaves a frozen backbone's BatchNorm layers in training mode)")]
    [InlineData("    load_nonstrict: true", "'load_nonstrict' needs 'pretrained' (it changes how pretrained weights load)")]
    [InlineData("    augment: false\n    test_augment: true", "'test_augment' needs 'augment: true' (it tests with the training transform, which is the evaluation one without augment)")]
    public void Parse_SwitchWithoutWhatItChanges_Repro126(string settings, string message)
    {
        var file = Parse("", settings);

        var error = Assert.Single(file.Errors);
        Assert.Equal(("REPRO126", message), (error.Code, error.Message));
    }

    [Fact]
    public void Parse_MissingPretrainedUnderArtifacts_NotAnErrorUntilItRuns()
    {
        // The transfer twin's backbones are generated on demand; a fresh checkout must still read the file.
        var file = Parse("", "    pretrained: artifacts/twin/resnet50-fmnist0-4.pth");

        Assert.Empty(file.Errors);
    }
}
