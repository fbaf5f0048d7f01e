using System.Text.RegularExpressions;
using Repro.Config;
using Repro.Testing;
using Xunit.Abstractions;

namespace Repro.Build.Tasks.Tests;

/// <summary>
/// A real one-node Slurm cluster and a tiny two-experiment config built once locally and once through Slurm. Where no
/// cluster answers sinfo the tests are skipped with the reason (<see cref="ExternalSystems"/>) and this fixture does
/// nothing; under REPRO_REQUIRE_SLURM=1 (.ci/run) it starts one with scripts/slurm-local.sh, or fails with its logs.
/// </summary>
public sealed class SlurmClusterFixture : IDisposable
{
    private readonly bool startedHere;

    public SlurmClusterFixture()
    {
        string conf = ExternalSystems.SlurmConf(RepositoryRoot.Path);
        // Child builds, and the sbatch/squeue they start, inherit it.
        Environment.SetEnvironmentVariable("SLURM_CONF", conf);
        if (ExternalSystems.SkipReason(ExternalSystem.Slurm) is not null)
            return; // every test is skipped with that reason
        if (Run("sinfo", "-h").ExitCode != 0)
        {
            var start = Run(Path.Combine(RepositoryRoot.Path, "scripts", "slurm-local.sh"), "start");
            if (start.ExitCode != 0 || Run("sinfo", "-h").ExitCode != 0)
                throw new InvalidOperationException($"no Slurm cluster answers sinfo (SLURM_CONF={conf}) and scripts/slurm-local.sh start failed:\n{start.Output}");
            startedHere = true;
        }

        TinyIdxDataset.Write(Path.Combine(LocalDirectory, "tiny"));
        TinyIdxDataset.Write(Path.Combine(Directory, "tiny"));
        WriteConfig(LocalDirectory);
        WriteConfig(Directory);
        Local = ExperimentBuild.Run(Path.Combine(LocalDirectory, "experiments.yaml"), "RunExperiments", "Experiment=a%3Bb");
        Initial = Build();
    }

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("repro-slurm-").FullName;

    public string LocalDirectory { get; } = System.IO.Directory.CreateTempSubdirectory("repro-slurm-local-").FullName;

    public string ConfigFile => Path.Combine(Directory, "experiments.yaml");

    public string Output(string experiment, string file) => Path.Combine(Directory, "artifacts", "experiments", experiment, file);

    /// <summary>The same config built with the local scheduler, for comparison (null when the tests are skipped).</summary>
    public ExperimentBuild.Result Local { get; } = null!;

    /// <summary>The first Slurm build of both experiments (null when the tests are skipped).</summary>
    public ExperimentBuild.Result Initial { get; } = null!;

    /// <summary>epochs of experiment 'a' (each test sets its own, so every test starts from an up-to-date build).</summary>
    public int EpochsOfA { get; set; } = 1;

    public void WriteConfig(string directory) => File.WriteAllText(Path.Combine(directory, "experiments.yaml"), $"""
        datasets:
          tiny:
            kind: idx
            root: tiny
        defaults:
          model: resnet50
          crop: 16
          augment: false
          batch: 16
          test_batch: 16
          threads: 1
          loader_threads: 1
          slurm_cpus: 1
          slurm_time: "30:00"
        experiments:
          - name: a
            dataset: tiny
            epochs: {EpochsOfA}
          - name: b
            dataset: tiny
            seed: 2
        """ + "\n");

    public ExperimentBuild.Result Build(params string[] properties) =>
        ExperimentBuild.Run(ConfigFile, "RunExperiments", ["Experiment=a%3Bb", "ReproScheduler=slurm", "ReproSlurmPollSeconds=1", .. properties]);

    /// <summary>Runs a Slurm or helper command as the tasks do (SlurmCommands.Run), its stdout and stderr together.</summary>
    public static (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        var (exitCode, output, error) = SlurmCommands.Run(program, arguments);
        return (exitCode, output + error);
    }

    public void Dispose()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        System.IO.Directory.Delete(LocalDirectory, recursive: true);
        if (startedHere)
            Run(Path.Combine(RepositoryRoot.Path, "scripts", "slurm-local.sh"), "stop");
    }
}

[CollectionDefinition("slurm builds", DisableParallelization = true)]
public sealed class SlurmBuildCollection : ICollectionFixture<SlurmClusterFixture>;

[Collection("slurm builds")]
public sealed partial class SlurmSchedulerTests(SlurmClusterFixture fixture, ITestOutputHelper output)
{
    [GeneratedRegex(@"Repro: submitted Slurm job array (?<id>\d+): (?<tasks>.*)$", RegexOptions.Multiline)]
    private static partial Regex Submitted();

    [GeneratedRegex(@"Repro: (?<run>[\w/-]+): Slurm job (?<job>\d+_\d+) (?<state>[A-Z_]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex StateChange();

    private ExperimentBuild.Result Show(ExperimentBuild.Result result)
    {
        output.WriteLine(string.Join("\n", result.Log.Split('\n').Where(l => l.Contains("Repro", StringComparison.Ordinal) || l.Contains("error", StringComparison.Ordinal))));
        return result;
    }

    private static void Succeeded(ExperimentBuild.Result result) => Assert.True(result.ExitCode == 0, result.Log);

    /// <summary>"a (split, train, test)" per submitted array task, in the order of the log.</summary>
    private static List<string> SubmittedTasks(ExperimentBuild.Result result) =>
        [.. Submitted().Matches(result.Log).SelectMany(m => Regex.Split(m.Groups["tasks"].Value.Trim(), @", (?=\d+_\d+ )")).Select(t => Regex.Replace(t, @"^\d+_\d+ ", ""))];

    private void SetEpochsOfA(int epochs)
    {
        fixture.EpochsOfA = epochs;
        fixture.WriteConfig(fixture.Directory);
    }

    [RequiresFact(ExternalSystem.Slurm)]
    public void RunExperiments_Slurm_RunsOneArrayTaskPerRunAndLocksWhatALocalBuildLocks()
    {
        Show(fixture.Initial);
        Succeeded(fixture.Local);
        Succeeded(fixture.Initial);

        Assert.Equal(["a (split, train, test)", "b (split, train, test)"], SubmittedTasks(fixture.Initial));
        var completed = StateChange().Matches(fixture.Initial.Log).Where(m => m.Groups["state"].Value == "COMPLETED").Select(m => m.Groups["run"].Value).Order();
        Assert.Equal(["a", "b"], completed);
        Assert.Empty(fixture.Initial.Ran);
        string lockFile = Path.Combine("results", "experiments.lock.json");
        Assert.Equal(File.ReadAllBytes(Path.Combine(fixture.LocalDirectory, lockFile)), File.ReadAllBytes(Path.Combine(fixture.Directory, lockFile)));
    }

    [RequiresFact(ExternalSystem.Slurm)]
    public void RunExperiments_SlurmNothingChanged_SubmitsNothing()
    {
        var result = Show(fixture.Build());

        Succeeded(result);
        Assert.Empty(SubmittedTasks(result));
        Assert.Equal(["a", "b"], result.UpToDate);
    }

    [RequiresFact(ExternalSystem.Slurm)]
    public void RunExperiments_SlurmEpochsChanged_SubmitsOnlyThatExperimentsTrainAndTest()
    {
        SetEpochsOfA(fixture.EpochsOfA == 2 ? 3 : 2);

        var result = Show(fixture.Build());

        Succeeded(result);
        Assert.Equal(["a (train, test)"], SubmittedTasks(result));
        Assert.Equal(["b"], result.UpToDate);
    }

    [RequiresFact(ExternalSystem.Slurm)]
    public async Task RunExperiments_SlurmTaskCancelledMidTraining_FailsNamingJobAndStateAndRebuildResumesFromCheckpoint()
    {
        // Enough epochs that the job is still training when the test cancels it, right after the first checkpoint;
        // the resubmitted job trains every epoch after that checkpoint again, so no more than that (CI time).
        SetEpochsOfA(fixture.EpochsOfA == 10 ? 11 : 10);
        string state = fixture.Output("a", Path.Combine("checkpoint", "state.json"));
        // The last build's checkpoint stays after it completes; the build discards it (new epochs), the test must not see it.
        if (Directory.Exists(Path.GetDirectoryName(state)))
            Directory.Delete(Path.GetDirectoryName(state)!, recursive: true);
        var build = Task.Run(() => fixture.Build());
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (!File.Exists(state) && !build.IsCompleted && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(File.Exists(state), "no checkpoint was written");
        string job = File.ReadAllText(fixture.Output("a", Path.Combine("slurm", "job.txt"))).Trim();
        var cancel = SlurmClusterFixture.Run("scancel", job);
        Assert.True(cancel.ExitCode == 0, cancel.Output);

        var failed = Show(await build);
        int epoch = RunJson.Read<CheckpointState>(state, "checkpoint state").Epoch;
        output.WriteLine($"checkpoint at epoch {epoch} of {fixture.EpochsOfA} when cancelled");

        Assert.NotEqual(0, failed.ExitCode);
        Assert.Contains($"error REPRO210: experiment 'a' failed in stage 'train' on Slurm job {job} (CANCELLED); log: ", failed.Log);
        Assert.False(File.Exists(fixture.Output("a", "training.json")), "a cancelled train must leave nothing that looks complete");

        var resumed = Show(fixture.Build());

        Succeeded(resumed);
        Assert.Equal(["a (train, test)"], SubmittedTasks(resumed));
        // The resubmitted task's log (after its "== Slurm job" header) starts training after the checkpointed epoch.
        string log = File.ReadAllText(fixture.Output("a", Path.Combine("slurm", "log.txt")));
        string attempt = log[log.LastIndexOf("== Slurm job", StringComparison.Ordinal)..];
        output.WriteLine(attempt.Split('\n')[0]);
        var first = Regex.Match(attempt, @"epoch (?<n>\d+)/\d+");
        Assert.True(first.Success, attempt);
        output.WriteLine($"resubmitted train began at {first.Value}");
        Assert.True(int.Parse(first.Groups["n"].Value) > epoch, attempt);
    }

    [RequiresFact(ExternalSystem.Slurm)]
    public void RunExperiments_SlurmNoWait_PrintsJobIdsAndALaterBuildWaitsWithoutResubmitting()
    {
        SetEpochsOfA(fixture.EpochsOfA == 12 ? 13 : 12);

        var detached = Show(fixture.Build("ReproWait=false"));

        Succeeded(detached);
        Assert.Equal(["a (train, test)"], SubmittedTasks(detached));
        Assert.Contains("Repro: not waiting (-p:ReproWait=false): a on ", detached.Log);
        var collected = Show(fixture.Build());
        Succeeded(collected);
        Assert.Empty(SubmittedTasks(collected));
        Assert.Matches(@"Repro: a: still on Slurm job \d+_0 \((PENDING|RUNNING)\); not submitted again", collected.Log);
        Assert.Contains("Repro: a: Slurm job", collected.Log);
        Assert.True(File.Exists(fixture.Output("a", "metrics.json")));
    }
}
