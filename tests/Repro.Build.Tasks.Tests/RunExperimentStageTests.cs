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
            RunStamp = Path.Combine(dir, "out", "stamps", "run.json"),
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

    private (RunExperimentStage Task, RecordingBuildEngine Engine) CreateTrain(bool discard = false)
    {
        var (task, engine) = Create(lockTimeoutSeconds: 1);
        task.Stage = "train";
        task.DiscardCheckpoint = discard;
        Directory.CreateDirectory(Path.Combine(dir, "out", "checkpoint"));
        return (task, engine);
    }

    // Whether a checkpoint is stale is the host's decision (TrainingCheckpointTests); the build only keeps it for the host.
    [Fact]
    public void Execute_TrainWithoutForce_LeavesCheckpointToTheHost()
    {
        var (task, engine) = CreateTrain();
        task.Execute();

        Assert.True(Directory.Exists(Path.Combine(dir, "out", "checkpoint")));
        Assert.DoesNotContain(engine.Messages, m => m.Message is { } text && text.Contains("discarding", StringComparison.Ordinal));
    }

    [Fact]
    public void Execute_TrainWithForce_DiscardsCheckpoint()
    {
        var (task, _) = CreateTrain(discard: true);
        task.Execute();

        Assert.False(Directory.Exists(Path.Combine(dir, "out", "checkpoint")));
    }

    /// <summary>An executable script standing in for the host (Unix): no CPU here crashes LibTorch on demand.</summary>
    private string Script(string name, string body)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private (RunExperimentStage Task, RecordingBuildEngine Engine) CreateCrashing(string body)
    {
        var (task, engine) = Create(lockTimeoutSeconds: 1);
        task.Experiment = "sample-resnet50";
        task.Stage = "train";
        task.HostCommand = Script("host.sh", body);
        return (task, engine);
    }

    [Fact]
    public void Execute_HostDiesOfSigfpe_ErrorNamesSignalExperimentStageLastLinesAndReadme()
    {
        var (task, engine) = CreateCrashing("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo \"sample-resnet50: step $i\"; done\nkill -FPE $$");

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("REPRO200", error.Code);
        string message = error.Message!;
        Assert.StartsWith("experiment 'sample-resnet50' failed in stage 'train': the host process was killed by SIGFPE (arithmetic fault in native code) (exit code 136).", message);
        // The last 10 lines, in the order printed; the first two are gone.
        Assert.Contains("Its last 10 lines:\n" + string.Join("\n", Enumerable.Range(3, 10).Select(i => $"    sample-resnet50: step {i}")), message);
        Assert.DoesNotContain("step 2\n", message);
        Assert.EndsWith("See \"Troubleshooting\" in Repro's docs/troubleshooting.md#a-stage-killed-by-a-signal for what this means and what to do.", message);
        Assert.Null(task.Ran);
    }

    [Fact]
    public void Execute_HostKilledBySigkill_ErrorSaysOftenOutOfMemory()
    {
        var (task, engine) = CreateCrashing("echo 'sample-resnet50: epoch 1/3' >&2\nkill -KILL $$");

        Assert.False(task.Execute());

        string message = Assert.Single(engine.Errors).Message!;
        Assert.Contains("killed by SIGKILL (killed, often out of memory) (exit code 137). Its last line:\n    sample-resnet50: epoch 1/3\n", message);
        Assert.Contains("docs/troubleshooting.md#a-stage-killed-by-a-signal", message);
    }

    [Fact]
    public void Execute_HostFailsWithoutErrorLine_ErrorKeepsExitCodeAndQuotesLastLines()
    {
        var (task, engine) = CreateCrashing("echo 'sample-resnet50: loading'\nexit 1");

        Assert.False(task.Execute());

        Assert.Equal("experiment 'sample-resnet50' failed in stage 'train' (exit code 1). Its last line:\n    sample-resnet50: loading", Assert.Single(engine.Errors).Message);
    }

    [Fact]
    public void Execute_HostFailsWithErrorLine_ErrorIsTodaysMessage()
    {
        var (task, engine) = CreateCrashing("echo 'sample-resnet50: loading'\necho 'error: no such file' >&2\nexit 4");

        Assert.False(task.Execute());

        Assert.Equal("experiment 'sample-resnet50' failed in stage 'train' (exit code 4): error: no such file", Assert.Single(engine.Errors).Message);
    }

    [Fact]
    public void Execute_LaterStagesHostDiesInTrain_LogsEachStageAndTheErrorNamesTrain()
    {
        var (task, engine) = CreateCrashing("echo 'sample-resnet50: stage split'\necho 'sample-resnet50: stage train'\necho 'sample-resnet50: epoch 1/2'\nkill -FPE $$");
        task.Stage = "split";
        task.LaterStages = true;

        Assert.False(task.Execute());

        Assert.Equal(["Repro: sample-resnet50: split", "Repro: sample-resnet50: train"],
            engine.Messages.Select(m => m.Message).Where(m => m is not null && m.StartsWith("Repro: ", StringComparison.Ordinal)));
        string message = Assert.Single(engine.Errors).Message!;
        Assert.StartsWith("experiment 'sample-resnet50' failed in stage 'train': the host process was killed by SIGFPE", message);
        // The announcements are the build's own lines, not the host's output.
        Assert.EndsWith("Its last line:\n    sample-resnet50: epoch 1/2\nSee \"Troubleshooting\" in Repro's docs/troubleshooting.md#a-stage-killed-by-a-signal for what this means and what to do.", message);
        Assert.StartsWith("train\n", File.ReadAllText(Path.Combine(dir, "out", "failed.txt")));
    }

    [Fact]
    public void Execute_LaterStagesFromSplit_DeletesEveryStagesOutputsAndAsksTheHostForThem()
    {
        var (task, engine) = CreateCrashing("echo \"$@\"");
        task.Stage = "split";
        task.LaterStages = true;
        foreach (var output in new[] { "split.tsv", "training.json", "model.bin", "metrics.json", "report.md" })
            File.WriteAllText(Path.Combine(dir, "out", output), "stale");

        Assert.True(task.Execute());

        Assert.Equal([".lock"], Directory.EnumerateFiles(Path.Combine(dir, "out")).Select(Path.GetFileName));
        Assert.Contains(engine.Messages, m => m.Message is { } text && text.EndsWith("split --run-stamp " + task.RunStamp + " --discard-stale-checkpoint --later-stages", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(136, "SIGFPE (arithmetic fault in native code)")]
    [InlineData(139, "SIGSEGV (invalid memory access in native code)")]
    [InlineData(134, "SIGABRT (aborted by native code)")]
    [InlineData(137, "SIGKILL (killed, often out of memory)")]
    [InlineData(1, null)]
    [InlineData(128, null)]
    public void Describe_ExitCode_NamesSignalOnUnix(int exitCode, string? expected)
    {
        Assert.Equal(expected, ProcessSignals.Describe(exitCode));
    }
}
