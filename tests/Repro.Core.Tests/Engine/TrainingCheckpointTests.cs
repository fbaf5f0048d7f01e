using Repro.Config;
using Repro.Core.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

public sealed class TrainingCheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-checkpoint-").FullName;

    private static readonly CheckpointKey Key = new("settings1", "data1", "", "code1");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private ExperimentLayout Layout => ExperimentLayout.ForRun(dir);

    /// <summary>One committed epoch of a tiny model, written under <paramref name="key"/>.</summary>
    private void SaveEpoch(CheckpointKey key)
    {
        using var model = nn.Linear(2, 2);
        using var optimizer = Optimization.Create(new TrainingOptions(1, 1, OptimizerKind.Adam, 0.1), model.parameters());
        new TrainingCheckpoint(Layout, key).Save(model, optimizer, [], new EpochRecord(1, 0.5, 0.5, 0.5, 0.5, 0.1, 1, 1));
    }

    [Fact]
    public void Staleness_SameKey_NoneSoItResumes()
    {
        SaveEpoch(Key);
        using var model = nn.Linear(2, 2);
        using var optimizer = Optimization.Create(new TrainingOptions(1, 3, OptimizerKind.Adam, 0.1), model.parameters());
        var history = new List<EpochRecord>();

        var checkpoint = new TrainingCheckpoint(Layout, Key);

        Assert.Null(checkpoint.Staleness());
        Assert.Equal(1, checkpoint.Resume(model, optimizer, history));
        Assert.Single(history);
    }

    [Theory]
    [InlineData("settings2", "data1", "", "code1", "settings")]
    [InlineData("settings1", "data2", "", "code1", "data")]
    [InlineData("settings1", "data1", "w", "code1", "pretrained weights")]
    [InlineData("settings1", "data1", "", "code2", "code")]
    public void Staleness_OneInputChanged_NamesItAndResumeRefuses(string config, string data, string weights, string code, string named)
    {
        SaveEpoch(Key);
        var checkpoint = new TrainingCheckpoint(Layout, new CheckpointKey(config, data, weights, code));
        using var model = nn.Linear(2, 2);
        using var optimizer = Optimization.Create(new TrainingOptions(1, 3, OptimizerKind.Adam, 0.1), model.parameters());

        Assert.Contains(named, checkpoint.Staleness());
        var error = Assert.Throws<InvalidDataException>(() => checkpoint.Resume(model, optimizer, []));
        Assert.StartsWith(Layout.CheckpointState, error.Message);
    }

    [Fact]
    public void Staleness_FewerEpochsAskedThanCommitted_SaysSoAndResumeRefuses()
    {
        SaveEpoch(Key);
        var checkpoint = new TrainingCheckpoint(Layout, Key, epochs: 0);
        using var model = nn.Linear(2, 2);
        using var optimizer = Optimization.Create(new TrainingOptions(1, 0, OptimizerKind.Adam, 0.1), model.parameters());

        Assert.Equal("it is at epoch 1, beyond the 0 epochs asked for", checkpoint.Staleness());
        Assert.Throws<InvalidDataException>(() => checkpoint.Resume(model, optimizer, []));
    }

    [Fact]
    public void ExportModel_CommittedEpoch_GivesThatModelANewNameWithItsBytes()
    {
        SaveEpoch(Key);
        string exported = Path.Combine(dir, "model.bin");

        Assert.True(new TrainingCheckpoint(Layout, Key).ExportModel(exported));

        Assert.Equal(File.ReadAllBytes(Layout.CheckpointModel(1)), File.ReadAllBytes(exported));
    }

    [Fact]
    public void ExportModel_NoEpochCommitted_LeavesItToTheCaller()
    {
        Assert.False(new TrainingCheckpoint(Layout, Key).ExportModel(Path.Combine(dir, "model.bin")));
    }

    [Fact]
    public void DiscardIfStale_Stale_DeletesTheFolderAndSaysWhy()
    {
        SaveEpoch(Key);
        var log = new List<string>();

        new TrainingCheckpoint(Layout, Key with { Data = "other" }).DiscardIfStale(log.Add);

        Assert.False(Directory.Exists(Layout.Checkpoints));
        Assert.Contains("data", Assert.Single(log));
    }

    [Fact]
    public void DiscardIfStale_UnreadableState_Discards()
    {
        Directory.CreateDirectory(Layout.Checkpoints);
        File.WriteAllText(Layout.CheckpointState, "{\"Config\": \"old format\"");

        new TrainingCheckpoint(Layout, Key).DiscardIfStale(_ => { });

        Assert.False(Directory.Exists(Layout.Checkpoints));
    }
}
