using Repro.Config;
using System.Text.RegularExpressions;
using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public class ModelSummaryTests
{
    // One 224x224 forward per model and configuration, shared by the tests that read it.
    private static readonly Dictionary<string, Lazy<ModelSummary>> Summaries = new()
    {
        ["resnet50"] = new(() => Summarise(ModelKind.ResNet50, HeadKind.Linear, FreezeMode.None)),
        ["densenet121"] = new(() => Summarise(ModelKind.DenseNet121, HeadKind.Linear, FreezeMode.None)),
        ["resnet50-seed-backbone"] = new(() => Summarise(ModelKind.ResNet50, HeadKind.Seed, FreezeMode.Backbone)),
        ["densenet121-seed-backbone"] = new(() => Summarise(ModelKind.DenseNet121, HeadKind.Seed, FreezeMode.Backbone)),
    };

    private static ModelSummary Summarise(ModelKind arch, HeadKind head, FreezeMode freeze)
    {
        torch.manual_seed(0);
        using var built = ModelBuilder.Build(arch, 10, head, freeze, pretrainedPath: null);
        return ModelSummary.Create(built.Module, 3, 224, 224);
    }

    [Theory]
    [InlineData("resnet50", 174, 23_528_522, 286.55)]
    [InlineData("densenet121", 424, 6_964_106, 371.81)]
    public void Create_TutorialModelAt224_EqualsTutorialTableRowForRow(string arch, int rows, long parameters, double forwardBackwardMB)
    {
        var summary = Summaries[arch].Value;
        var expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Models", "Reference", $"seed-summary-{arch}-10classes-3x224x224.txt"))
            .Select(Collapse).Where(l => l.Length > 0).ToList();
        var actual = summary.Render().Split('\n').Select(Collapse).Where(l => l.Length > 0).ToList();

        Assert.Equal(expected, actual);
        Assert.Equal(rows, summary.Rows.Count);
        Assert.Equal(parameters, summary.TotalParameters);
        Assert.Equal(parameters, summary.TrainableParameters);
        Assert.Equal(forwardBackwardMB, Math.Round(summary.ForwardBackwardSizeMB, 2));
    }

    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet121")]
    public void Render_TutorialModel_MatchesSnapshot(string arch)
    {
        Snapshot.Verify(Summaries[arch].Value.Render(), parameters: [("arch", arch)]);
    }

    [Theory]
    [InlineData("resnet50", 2048 * 256 + 256 + 256 * 10 + 10)]
    [InlineData("densenet121", 1024 * 128 + 128 + 128 * 10 + 10)]
    public void Render_SeedHeadFrozenBackbone_OnlyHeadTrainableAndMatchesSnapshot(string arch, long headParameters)
    {
        var summary = Summaries[arch + "-seed-backbone"].Value;
        Assert.Equal(headParameters, summary.TrainableParameters);
        Assert.All(summary.Rows.Where(r => r.Trainable == true), r => Assert.Equal("Linear", r.Type));
        Snapshot.Verify(summary.Render(), parameters: [("arch", arch)]);
    }

    [Fact]
    public void Create_ModelInTrainingMode_RestoresModesAndRemovesHooks()
    {
        using var model = Zoo.resnet50(10);
        model.train();
        ModelBuilder.FreezeBackbone(model);
        ModelBuilder.SetTrainingMode(model, training: true, frozenBackbone: true);
        var before = model.modules().Select(m => m.training).ToList();

        var first = ModelSummary.Create(model, 3, 32, 32);
        var second = ModelSummary.Create(model, 3, 32, 32);

        Assert.Equal(before, model.modules().Select(m => m.training).ToList());
        Assert.Equal(first.Rows.Count, second.Rows.Count);
        Assert.Equal(174, first.Rows.Count);
        Assert.Equal(new long[] { -1, 2048, 1, 1 }, first.Rows[^2].OutputShape);
    }

    private static string Collapse(string line) => Regex.Replace(line.Trim(), @"\s+", " ");
}
