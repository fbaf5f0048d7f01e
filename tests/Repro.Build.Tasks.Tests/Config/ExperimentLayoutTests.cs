namespace Repro.Config.Tests;

public sealed class ExperimentLayoutTests
{
    [Fact]
    public void For_SweepSeed_RunFolderUnderTheExperimentsFolder()
    {
        var layout = ExperimentLayout.For("/a/artifacts", "exp", 3);

        Assert.Equal("/a/artifacts/experiments/exp", layout.ExperimentDirectory);
        Assert.Equal("/a/artifacts/experiments/exp/seed-3", layout.Directory);
        Assert.Equal("/a/artifacts/experiments/exp/seed-3/stamps/train.json", layout.TrainStamp);
        Assert.Equal("/a/artifacts/experiments/exp/report.md", layout.SweepReport);
    }

    [Theory]
    [InlineData("/a/experiments/exp/seed-12/", "/a/experiments/exp", "/a/experiments/exp/seed-12")]
    [InlineData("/a/experiments/exp", "/a/experiments/exp", "/a/experiments/exp")]
    [InlineData("/a/experiments/seed-x", "/a/experiments/seed-x", "/a/experiments/seed-x")]
    public void ForRun_RunFolder_FindsItsExperimentFolder(string run, string experiment, string directory)
    {
        var layout = ExperimentLayout.ForRun(run);

        Assert.Equal((experiment, directory), (layout.ExperimentDirectory, layout.Directory));
    }

    [Fact]
    public void Outputs_EachStage_AreWhatItsTargetDeclares()
    {
        var layout = ExperimentLayout.For("/x", "e", null);

        Assert.Equal([layout.SplitManifest], layout.Outputs(Stage.Split));
        Assert.Equal([layout.Training, layout.Model], layout.Outputs(Stage.Train));
        Assert.Equal([layout.Metrics, layout.Report], layout.Outputs(Stage.Test));
    }
}
