namespace Repro.Build.Tasks.Tests;

public sealed class RunExperimentStageTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-stage-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (RunExperimentStage Task, RecordingBuildEngine Engine) Create(int lockTimeoutSeconds)
    {
        var engine = new RecordingBuildEngine();
        var task = new RunExperimentStage
        {
            BuildEngine = engine,
            Experiment = "a",
            Stage = "test",
            ConfigFile = Path.Combine(dir, "experiments.yaml"),
            // A program that does not exist: the host exits with an error, quickly.
            Program = Path.Combine(dir, "missing.dll"),
            OutputDirectory = Path.Combine(dir, "out") + Path.DirectorySeparatorChar,
            Outputs = [new Microsoft.Build.Utilities.TaskItem(Path.Combine(dir, "out", "metrics.json"))],
            LockTimeoutSeconds = lockTimeoutSeconds,
        };
        Directory.CreateDirectory(task.OutputDirectory);
        return (task, engine);
    }

    private FileStream HoldLock() => new(Path.Combine(dir, "out", ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

    [Fact]
    public void Execute_LockHeldPastTimeout_FailsWithClearMessageAndKeepsOutputs()
    {
        var (task, engine) = Create(lockTimeoutSeconds: 1);
        File.WriteAllText(Path.Combine(dir, "out", "metrics.json"), "{}");
        using var held = HoldLock();

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("REPRO201", error.Code);
        Assert.StartsWith("experiment 'a' is being run by another build", error.Message);
        // The other build owns the outputs: this one must not delete them.
        Assert.True(File.Exists(Path.Combine(dir, "out", "metrics.json")));
    }

    [Fact]
    public async Task Execute_LockReleasedWhileWaiting_RunsAfterTheOtherBuild()
    {
        var (task, engine) = Create(lockTimeoutSeconds: 60);
        var held = HoldLock();
        var release = Task.Delay(1500).ContinueWith(_ => held.Dispose(), TaskScheduler.Default);

        bool ok = task.Execute();
        await release;

        Assert.Contains(engine.Messages, m => m.Message is { } text && text == "Repro: a: another build is running this experiment; waiting up to 60 s");
        Assert.Contains(engine.Messages, m => m.Message is { } text && text == "Repro: a: test");
        // It ran once the lock was free, and the missing program then fails it naming the experiment.
        Assert.False(ok);
        Assert.Contains(engine.Errors, e => e.Code == "REPRO200" && e.Message is { } text && text.StartsWith("experiment 'a' failed in stage 'test'", StringComparison.Ordinal));
    }

    [Fact]
    public void Execute_ProgramFails_DeletesStaleOutputsAndLogsErrorNamingExperiment()
    {
        var (task, engine) = Create(lockTimeoutSeconds: 1);
        File.WriteAllText(Path.Combine(dir, "out", "metrics.json"), "{ \"stale\": true }");

        Assert.False(task.Execute());

        Assert.False(File.Exists(Path.Combine(dir, "out", "metrics.json")));
        Assert.Contains(engine.Errors, e => e.Code == "REPRO200" && e.Message is { } text && text.Contains("'a'", StringComparison.Ordinal));
        Assert.Null(task.Ran);
    }

    private (RunExperimentStage Task, RecordingBuildEngine Engine) CreateTrain(string input, bool discard = false)
    {
        var (task, engine) = Create(lockTimeoutSeconds: 1);
        task.Stage = "train";
        task.Outputs = [];
        task.CheckpointInputs = [new Microsoft.Build.Utilities.TaskItem(input)];
        task.DiscardCheckpoint = discard;
        Directory.CreateDirectory(Path.Combine(dir, "out", "checkpoint"));
        return (task, engine);
    }

    private string WriteSplit(string content)
    {
        string split = Path.Combine(dir, "out", "split.tsv");
        Directory.CreateDirectory(Path.GetDirectoryName(split)!);
        File.WriteAllText(split, content);
        return split;
    }

    [Fact]
    public void Execute_TrainInputsChangedSinceCheckpoint_DiscardsCheckpoint()
    {
        string split = WriteSplit("old split");
        CreateTrain(split).Task.Execute();
        var (task, engine) = CreateTrain(split);
        WriteSplit("a new split, other data");

        task.Execute();

        Assert.False(Directory.Exists(Path.Combine(dir, "out", "checkpoint")));
        Assert.Contains(engine.Messages, m => m.Message is { } text && text.StartsWith("Repro: a: discarding the checkpoint", StringComparison.Ordinal));
    }

    [Fact]
    public void Execute_TrainInputsUnchangedSinceCheckpoint_KeepsCheckpointToResume()
    {
        string split = WriteSplit("split");
        CreateTrain(split).Task.Execute();

        var (task, engine) = CreateTrain(split);
        task.Execute();

        Assert.True(Directory.Exists(Path.Combine(dir, "out", "checkpoint")));
        Assert.DoesNotContain(engine.Messages, m => m.Message is { } text && text.Contains("discarding", StringComparison.Ordinal));
    }

    [Fact]
    public void Execute_TrainWithForce_DiscardsCheckpoint()
    {
        string split = WriteSplit("split");
        CreateTrain(split).Task.Execute();

        var (task, _) = CreateTrain(split, discard: true);
        task.Execute();

        Assert.False(Directory.Exists(Path.Combine(dir, "out", "checkpoint")));
    }
}
