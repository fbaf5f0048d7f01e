using TorchSharp;
using Repro.Config;
using System.Text.Json;
using Repro.Core.Engine;
using Repro.Core.Tests.Data;
using Repro.Core.Tests.Engine;
using Xunit.Abstractions;

namespace Repro.Core.Tests;

[Collection(TinyRunCollection.Name)]
public sealed class ExperimentRunnerTests(TinyRunFixture reference, ITestOutputHelper output)
{
    /// <summary>Reports synchronously on the training thread (System.Progress would post to the thread pool).</summary>
    private sealed class Inline(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }

    private byte[] ReferenceMetrics => File.ReadAllBytes(reference.Runner.Layout.Metrics);

    [Fact]
    public void Run_SameExperimentInAnotherFolder_MetricsJsonByteIdentical()
    {
        using var again = new TinyExperiment();

        var runner = again.RunAll();

        Assert.Equal(ReferenceMetrics, File.ReadAllBytes(runner.Layout.Metrics));
    }

    [Fact]
    public void Run_SkipCorruptWithTruncatedJpegAndPng_SplitLineMetricsAndReportNameThem()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "ds");
        foreach (var (cls, seed) in new[] { ("a", 1), ("b", 2) })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            for (int i = 0; i < 6; i++)
                Fixtures.WriteImage(Path.Combine(root, cls, $"{i}.png"), 20, 20, SkiaSharp.SKEncodedImageFormat.Png, seed * 10 + i);
        }
        var jpeg = Fixtures.Encode(20, 20, SkiaSharp.SKEncodedImageFormat.Jpeg);
        var png = Fixtures.Encode(20, 20, SkiaSharp.SKEncodedImageFormat.Png);
        File.WriteAllBytes(Path.Combine(root, "a", "zz-truncated.jpg"), jpeg[..(jpeg.Length / 3)]);
        File.WriteAllBytes(Path.Combine(root, "b", "zz-truncated.png"), png[..(png.Length / 3)]);
        string config = Path.Combine(dir.Path, "experiments.yaml");
        File.WriteAllText(config, """
            datasets:
              ds: {kind: imagefolder, root: ds, skip_corrupt: true}
            experiments:
              - {name: sc, dataset: ds, split: 0.25, crop: 16, augment: false, batch: 8, epochs: 1, threads: 1, loader_threads: 1}
            """);
        var file = Repro.Config.ExperimentsFile.Load(config);
        Assert.Empty(file.Errors);
        var log = new List<string>();
        var run = ScheduledRun.Create(config, Assert.Single(file.Experiments), null, Path.Combine(dir.Path, "artifacts")).WithOutput(Path.Combine(dir.Path, "out"));
        var runner = new ExperimentRunner(run, log: log.Add);

        runner.Split();
        runner.Train();
        runner.Test();
        byte[] metrics = File.ReadAllBytes(runner.Layout.Metrics);
        runner.Test();

        Assert.Contains(log, l => l.StartsWith("split: 10 train / 2 test images, manifest ", StringComparison.Ordinal)
            && l.EndsWith("; 2 unreadable images skipped: a/zz-truncated.jpg, b/zz-truncated.png", StringComparison.Ordinal));
        using (var json = JsonDocument.Parse(metrics))
        {
            var skipped = json.RootElement.GetProperty("skipped");
            Assert.Equal(2, skipped.GetProperty("count").GetInt32());
            Assert.Equal(["a/zz-truncated.jpg", "b/zz-truncated.png"], skipped.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        }
        Assert.Equal(metrics, File.ReadAllBytes(runner.Layout.Metrics));
        string report = File.ReadAllText(runner.Layout.Report);
        Assert.Contains("- Dataset: ds (imagefolder, 2 classes, 12 images)\n- skip_corrupt: 2 unreadable images skipped: a/zz-truncated.jpg, b/zz-truncated.png\n", report);
    }

    [Fact]
    public void Train_StoppedMidSecondEpochThenRunAgain_EndsWithUninterruptedBytes()
    {
        using var tiny = new TinyExperiment();
        using var stop = new CancellationTokenSource();
        // The first report of epoch 2 comes after its first batch; the next batch then sees the cancellation.
        var interrupted = tiny.Runner(progress: new Inline(p =>
        {
            if (p.Epoch == 2)
                stop.Cancel();
        }));
        interrupted.Split();

        Assert.ThrowsAny<OperationCanceledException>(() => interrupted.Train(cancellation: stop.Token));
        Assert.False(File.Exists(interrupted.Layout.Model));
        Assert.Equal(1, RunJson.Read<CheckpointState>(interrupted.Layout.CheckpointState, "checkpoint state").Epoch);

        var resumed = tiny.Runner();
        var record = resumed.Train();
        resumed.Test();

        Assert.Equal(2, record.History.Count);
        Assert.True(record.Seconds >= record.History.Sum(h => h.Seconds), "the training time must include the checkpointed epoch");
        Assert.Equal(ReferenceMetrics, File.ReadAllBytes(resumed.Layout.Metrics));
    }

    [Fact]
    public void Train_EpochsRaisedAfterAFinishedRun_TrainsOnFromItsCheckpointToTheUninterruptedBytes()
    {
        using var tiny = new TinyExperiment("epochs: 1");
        var first = tiny.Runner();
        first.Split();
        var one = first.Train();
        tiny.Edit("epochs: 2");

        var extended = tiny.Runner();
        var two = extended.Train(discardStaleCheckpoint: true);
        extended.Test();

        // Epoch 1 came from the checkpoint (its measured time with it), not from training again.
        Assert.Equal(2, two.History.Count);
        Assert.Equal(one.History[0], two.History[0]);
        Assert.Equal(ReferenceMetrics, File.ReadAllBytes(extended.Layout.Metrics));
    }

    [Fact]
    public void Train_FinishedRun_KeepsOnlyTheLastEpochWithModelBinAsItsModel()
    {
        using var tiny = new TinyExperiment();
        var runner = tiny.Runner();
        runner.Split();
        runner.Train();

        Assert.Equal(["model-0002.bin", "optimizer-0002.bin", "state.json"],
            Directory.EnumerateFiles(runner.Layout.Checkpoints).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(File.ReadAllBytes(runner.Layout.CheckpointModel(2)), File.ReadAllBytes(runner.Layout.Model));
    }

    [Fact]
    public void Test_AfterTrainOnTheSameRunner_TakesTheLastValidationAndWritesTheReferenceBytes()
    {
        using var tiny = new TinyExperiment();
        var log = new List<string>();
        var runner = tiny.Runner(log: log);
        runner.Split();
        runner.Train();

        runner.Test();

        Assert.Contains(log, l => l.StartsWith("test: the last epoch's validation evaluated this model", StringComparison.Ordinal));
        Assert.Equal(ReferenceMetrics, File.ReadAllBytes(runner.Layout.Metrics));
    }

    [Fact]
    public void Test_TestAugment_EvaluatesAgainSinceTheTestDrawsOtherCrops()
    {
        using var tiny = new TinyExperiment("test_augment: true", "epochs: 2");
        var log = new List<string>();
        var runner = tiny.Runner(log: log);
        runner.Split();
        runner.Train();

        runner.Test();

        Assert.DoesNotContain(log, l => l.StartsWith("test: the last epoch's validation", StringComparison.Ordinal));
    }

    [Fact]
    public void Split_LaterStagesInOneHost_AnnouncesEachStageAndWritesTheReferenceBytes()
    {
        using var tiny = new TinyExperiment();
        var runner = tiny.Runner();

        var (exitCode, printed) = HostProcess.Exec(tiny.Directory, "split", "--config", tiny.ConfigPath, "--experiment", tiny.Experiment.Name,
            "--output", runner.Layout.Directory, "--later-stages");

        Assert.Equal(0, exitCode);
        Assert.Equal(["tiny: stage split", "tiny: stage train", "tiny: stage test"], printed.Where(l => l.StartsWith("tiny: stage ", StringComparison.Ordinal)));
        Assert.Equal(ReferenceMetrics, File.ReadAllBytes(runner.Layout.Metrics));
    }

    [Fact]
    public void Train_CheckpointOfAnotherConfiguration_RefusedWithClearMessage()
    {
        using var tiny = new TinyExperiment("freeze: backbone", "cache_features: true", "head: linear", "epochs: 1");
        var first = tiny.Runner();
        first.Split();
        first.Train();
        tiny.Edit("lr: 0.002");
        var changed = tiny.Runner();

        var error = Assert.Throws<InvalidDataException>(() => changed.Train());

        Assert.Contains("it was written before these changed: settings (fingerprint ", error.Message);
        Assert.Contains("Delete the folder", error.Message);
        Assert.Single(changed.Train(discardStaleCheckpoint: true).History);
    }

    [Fact]
    public void Train_CachedFeaturesFrozenBackbone_OnlyHeadChangesAndReportSaysWhichPath()
    {
        using var tiny = new TinyExperiment("freeze: backbone", "cache_features: true", "head: linear", "epochs: 2", "lr: 0.01");

        var runner = tiny.RunAll();

        using var initial = runner.BuildModel(10);
        using var trained = runner.BuildModel(10);
        trained.Module.load(runner.Layout.Model);
        var before = initial.Module.state_dict();
        var after = trained.Module.state_dict();
        var changed = after.Keys.Where(k => !before[k].allclose(after[k], rtol: 0, atol: 0)).ToList();
        Assert.NotEmpty(changed);
        Assert.All(changed, k => Assert.StartsWith("fc.", k));
        Assert.Contains("cached features", File.ReadAllText(runner.Layout.Training));
        Assert.Contains("- Training path: cached features", File.ReadAllText(runner.Layout.Report));
    }

    [Fact]
    public void Train_FourEpochs_ResidentMemoryFlatAfterFirstEpoch()
    {
        using var tiny = new TinyExperiment("epochs: 4", "augment: false", "head: linear");
        var runner = tiny.Runner();
        runner.Split();

        var history = runner.Train().History;

        var rss = history.Select(h => h.ResidentMegabytes).ToArray();
        output.WriteLine("resident MB after each epoch: " + string.Join(", ", rss.Select(mb => mb.ToString("F1", System.Globalization.CultureInfo.InvariantCulture))));
        Assert.All(rss, mb => Assert.True(mb > 50, $"resident memory {mb:F1} MB is implausible"));
        // The first epoch allocates the optimizer state and LibTorch's caches. After it the figure wanders by up
        // to ±20 MB on a flat run (measured here: 634, 630, 646, 629 MB), so this catches leaks of gradients,
        // optimizer state or cached data (94 MB and more an epoch for ResNet50), not one of a few MB a step.
        Assert.True(rss[3] - rss[1] < 48, $"resident memory grew from {rss[1]:F1} MB after epoch 2 to {rss[3]:F1} MB after epoch 4");
    }

    [Fact]
    public void Run_Bf16OnCpu_SaysSoAndRunsInFloat32()
    {
        using var tiny = new TinyExperiment("bf16: true", "freeze: backbone", "cache_features: true", "head: linear", "epochs: 1");

        var (runner, printed) = tiny.RunAllInHost();

        // The host prints the core's log lines as "<experiment>: <line>".
        Assert.Contains("tiny: bf16 applies on CUDA only; this run is on the CPU, in float32", printed);
        // float32 in whichever layout this CPU runs (channels-last unless it refuses it).
        Assert.Matches(@"- Numerics: float32(, channels-last)?, LibTorch deterministic algorithms on", File.ReadAllText(runner.Layout.Report));
    }

    // channels_last (the default) changes the layout of every training and test batch; the report must say which
    // layout ran, since results differ from an NCHW run in the last bits.
    [Fact]
    public void Run_DefaultLayout_ChannelsLastUnlessTheCpuRefusesAndReportSaysWhich()
    {
        using var tiny = new TinyExperiment("epochs: 1", "head: linear");

        var (runner, log) = tiny.RunAllInHost();

        if (InputFormat.ChannelsLastRefusal(DeviceType.CPU, X86Cpu.Current(), oneDnn: true) is { } why)
        {
            // This CPU would crash in channels-last convolutions: the run says so and goes on in NCHW.
            Assert.Contains(log, l => l.Contains(why, StringComparison.Ordinal));
            Assert.Contains("- Numerics: float32, LibTorch deterministic algorithms on", File.ReadAllText(runner.Layout.Report));
        }
        else
        {
            Assert.Contains("- Numerics: float32, channels-last, LibTorch deterministic algorithms on", File.ReadAllText(runner.Layout.Report));
        }
    }

    [Fact]
    public void Run_ChannelsLastFalse_RunsNchwWithoutRefusalNote()
    {
        using var tiny = new TinyExperiment("channels_last: false", "epochs: 1", "head: linear");

        var (runner, log) = tiny.RunAllInHost();

        Assert.Contains("- Numerics: float32, LibTorch deterministic algorithms on", File.ReadAllText(runner.Layout.Report));
        Assert.DoesNotContain(log, l => l.Contains("channels_last is not used", StringComparison.Ordinal));
    }

    [Fact]
    public void Lesion_TrainedResNet50_RowPerIdentityBlockAndPlot()
    {
        var table = reference.Runner.Lesion();

        var rows = table.Split('\n').Where(l => l.StartsWith("| layer", StringComparison.Ordinal)).ToList();
        // ResNet50's [3, 4, 6, 3] blocks less the first of each stage, whose shortcut is a projection.
        Assert.Equal(12, rows.Count);
        Assert.Contains("| none |", table);
        Assert.Equal(table, File.ReadAllText(reference.Runner.Layout.Lesion));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(reference.Runner.Layout.LesionPlot)[..4]);
    }

    [Fact]
    public void Lesion_DenseNet_RefusedNamingTheModel()
    {
        using var tiny = new TinyExperiment("model: densenet121", "crop: 32");
        var runner = tiny.Runner();
        runner.Split();
        File.WriteAllText(runner.Layout.Model, "");

        var error = Assert.Throws<ArgumentException>(() => runner.Lesion());

        Assert.Contains("densenet121", error.Message);
    }
}
