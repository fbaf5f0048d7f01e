using System.Globalization;
using Repro.Config;

namespace Repro.Build.Tasks.Tests;

/// <summary>
/// VerifyExperiments' comparison: bitwise on a platform the lock recorded, statistical against the locked seeds'
/// spread on any other (a CI runner rarely has the lock author's CPU), and never a silent pass.
/// </summary>
public sealed class VerifyResultsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-verify-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string LockFile => Path.Combine(dir, "results", "experiments.lock.json");

    private string Rerun => Path.Combine(dir, "verify");

    /// <summary>Locks seeds 1..n of sweep "s" on platform "author": accuracies 0.70, 0.72, …; losses 0.50, 0.51, …</summary>
    private void LockSweep(int n) => LockSweepOn(n, "author", "cpu");

    private void LockSweepOn(int n, string platform, string device)
    {
        string artifacts = Path.Combine(dir, "locked");
        var runs = Enumerable.Range(1, n).Select(s => RunResult.Read(
            ResultFiles.WriteOutput(artifacts, "s", F(0.70 + 0.02 * (s - 1)), loss: F(0.50 + 0.01 * (s - 1)), platform: platform, seed: (ulong)s, images: 1000, device: device))!).ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(LockFile)!);
        File.WriteAllText(LockFile, ResultsLock.Write([LockEntry.FromRuns(runs, "c0de")]));
    }

    private (bool Ok, VerifyResults Task, RecordingBuildEngine Engine) Verify(string platform, string accuracy, string loss = "0.520000", string device = "cpu")
    {
        ResultFiles.WriteOutput(Rerun, "s", accuracy, loss: loss, platform: platform, seed: 1, images: 1000, device: device);
        return Execute(ResultFiles.Item(Rerun, "s", 1));
    }

    /// <summary>Re-runs of seeds 1..k on <paramref name="platform"/>, accuracies from <paramref name="accuracies"/>.</summary>
    private (bool Ok, VerifyResults Task, RecordingBuildEngine Engine) VerifySeeds(string platform, params double[] accuracies)
    {
        for (int s = 1; s <= accuracies.Length; s++)
            ResultFiles.WriteOutput(Rerun, "s", F(accuracies[s - 1]), loss: F(0.50 + 0.01 * (s - 1)), platform: platform, seed: (ulong)s, images: 1000);
        return Execute([.. Enumerable.Range(1, accuracies.Length).Select(s => (Microsoft.Build.Framework.ITaskItem)ResultFiles.Item(Rerun, "s", (ulong)s))]);
    }

    private (bool Ok, VerifyResults Task, RecordingBuildEngine Engine) Execute(params Microsoft.Build.Framework.ITaskItem[] items)
    {
        var engine = new RecordingBuildEngine();
        var task = new VerifyResults { BuildEngine = engine, Experiments = items, LockFile = LockFile, CodeFingerprint = "c0de" };
        return (task.Execute(), task, engine);
    }

    private static string F(double v) => v.ToString("F6", CultureInfo.InvariantCulture);

    private static string Log(RecordingBuildEngine engine) =>
        string.Join("\n", engine.Messages.Select(m => m.Message).Concat(engine.Errors.Select(e => e.Message)));

    [Fact]
    public void Execute_SamePlatformSameBits_PassesBitwise()
    {
        LockSweep(5);

        var (ok, task, engine) = Verify("author", "0.700000", "0.500000");

        Assert.True(ok, Log(engine));
        Assert.Equal("bitwise", task.CheckKinds);
        Assert.Contains("s/seed-1: bitwise check on numerics platform author, recorded in the lock: identical", Log(engine));
    }

    [Fact]
    public void Execute_SamePlatformOtherBits_FailsBitwise()
    {
        LockSweep(5);

        var (ok, _, engine) = Verify("author", "0.701000", "0.500000");

        Assert.False(ok);
        Assert.Contains("| s/seed-1 | bitwise | accuracy | 70.00% | 70.10% | exact (bitwise) |", Log(engine));
    }

    [Fact]
    public void Execute_ForeignPlatformValueInBand_PassesStatisticallyAndSaysSo()
    {
        // Locked accuracies 0.70..0.78: mean 0.74, std 0.0316, band ±5.04 std = ±0.159 at n = 5 (1 % false alarms).
        LockSweep(5);

        var (ok, task, engine) = Verify("ci-runner", "0.770000", "0.540000");

        Assert.True(ok, Log(engine));
        Assert.Equal("statistical", task.CheckKinds);
        string log = Log(engine);
        Assert.Contains("this machine's numerics platform ci-runner is not in the lock; compared with the 5 seeds locked on platform author", log);
        Assert.Contains("accuracy 77.00% vs 74.00% ± 3.16 pp (band 58.05% – 89.95%): in band", log);
        Assert.Contains(": pass", log);
    }

    [Fact]
    public void Execute_ForeignPlatformValueOutOfBand_FailsStatistically()
    {
        LockSweep(5);

        var (ok, _, engine) = Verify("ci-runner", "0.500000");

        Assert.False(ok);
        string log = Log(engine);
        Assert.Contains("accuracy 50.00% vs 74.00% ± 3.16 pp (band 58.05% – 89.95%): OUT OF BAND", log);
        Assert.Contains("| s/seed-1 | statistical | accuracy | 74.00% ± 3.16 pp (n = 5) | 50.00% | 58.05% – 89.95% |", log);
    }

    [Fact]
    public void Execute_ForeignPlatformWithoutDistribution_FailsSayingHowToRecordOne()
    {
        LockSweep(1);

        var (ok, _, engine) = Verify("ci-runner", "0.710000", "0.500000");

        Assert.False(ok);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("REPRO312", error.Code);
        Assert.Contains("-p:ReproLockPlatform=add", error.Message);
        Assert.Contains("seeds: 5", error.Message);
    }

    [Fact]
    public void Execute_SettingsChanged_ReportsStaleLock()
    {
        LockSweep(5);
        ResultFiles.WriteOutput(Rerun, "s", "0.700000", platform: "author", seed: 1, model: "densenet121");
        var engine = new RecordingBuildEngine();
        var task = new VerifyResults { BuildEngine = engine, Experiments = [ResultFiles.Item(Rerun, "s", 1)], LockFile = LockFile, CodeFingerprint = "c0de" };

        Assert.False(task.Execute());
        Assert.Contains("| s/seed-1 | — | train fingerprint |", Log(engine));
        Assert.Contains("lock is stale", Log(engine));
    }

    [Fact]
    public void Execute_ForeignPlatformOneSeed_StatesTheShiftItCanDetect()
    {
        LockSweep(5);

        var (_, _, engine) = Verify("ci-runner", "0.770000", "0.540000");

        // (t(0.995, 4) + z(0.80)) * sqrt(1.2) * 3.16 pp = 18.86 pp: the one-seed band only sees large shifts.
        Assert.Contains("s/seed-1: one re-run seed in the 99 % prediction band detects a shift of the mean of at least accuracy 18.86 pp", Log(engine));
        Assert.Contains("with 80 % power (1 % false alarms per metric)", Log(engine));
    }

    [Fact]
    public void Execute_ForeignPlatformBytesEqualAnotherPlatforms_PassesBitwiseNamingThatPlatform()
    {
        LockSweep(5);

        var (ok, task, engine) = Verify("ci-runner", "0.700000", "0.500000");

        Assert.True(ok, Log(engine));
        Assert.Equal("bitwise", task.CheckKinds);
        Assert.Contains("s/seed-1: bitwise: identical to platform author's results", Log(engine));
        Assert.DoesNotContain("statistical", Log(engine));
    }

    [Fact]
    public void Execute_ForeignPlatformThreeSeedsNearTheLock_PassesWelchAndStatesItsPower()
    {
        LockSweep(5);

        var (ok, task, engine) = VerifySeeds("ci-runner", 0.731, 0.745, 0.762);

        Assert.True(ok, Log(engine));
        Assert.Equal("statistical", task.CheckKinds);
        string log = Log(engine);
        Assert.Contains("s: statistical check (Welch's test, 3 re-run seeds: 1, 2, 3)", log);
        Assert.Contains("accuracy 74.60% ± 1.55 pp vs 74.00% ± 3.16 pp: difference +0.60 pp", log);
        Assert.Contains("s: Welch's test of 3 re-run seeds at 99 % confidence detects a shift of the mean of at least accuracy", log);
    }

    [Fact]
    public void Execute_PlatformLockedForFirstSeedOnly_FirstSeedBitwiseSecondStatistical()
    {
        LockSweep(5);
        var runner = RunResult.Read(ResultFiles.WriteOutput(Path.Combine(dir, "runner"), "s", "0.731000", loss: "0.500000", platform: "ci-runner", seed: 1, images: 1000))!;
        var (merged, _) = ResultsLock.Merge(ResultsLock.Read(File.ReadAllText(LockFile))["s"], LockEntry.FromRuns([runner], "c0de"), addPlatform: true, part: true);
        File.WriteAllText(LockFile, ResultsLock.Write([merged!]));

        var (ok, task, engine) = VerifySeeds("ci-runner", 0.731, 0.745);

        Assert.True(ok, Log(engine));
        Assert.Equal("bitwise+statistical", task.CheckKinds);
        string log = Log(engine);
        Assert.Contains("s/seed-1: bitwise check on numerics platform ci-runner, recorded in the lock: identical", log);
        Assert.Contains("s/seed-2: statistical check: the lock holds this machine's numerics platform ci-runner for seed(s) 1 only; compared with the 5 seeds locked on platform author", log);
    }

    [Fact]
    public void Execute_ForeignPlatformThreeSeedsShiftedTenPoints_FailsWelch()
    {
        LockSweep(5);

        var (ok, _, engine) = VerifySeeds("ci-runner", 0.62, 0.64, 0.65);

        Assert.False(ok);
        string log = Log(engine);
        Assert.Contains("accuracy 63.67% ± 1.53 pp vs 74.00% ± 3.16 pp: difference -10.33 pp", log);
        Assert.Contains(": DIFFERS", log);
        Assert.Contains("| s (3 seeds) | statistical (Welch) | accuracy | 74.00% ± 3.16 pp (n = 5) | 63.67% ± 1.53 pp (n = 3) | p ≥ 0.01", log);
    }

    [Fact]
    public void Execute_DeviceSettingOnACpuPlatform_ChecksExactlyWithoutCudaTolerance()
    {
        // The setting says nothing about where the run computed: the platform record does (a CPU here), so no tolerance.
        LockSweep(5);

        var (ok, _, engine) = Verify("author", "0.701000", "0.500000", device: "cpu");

        Assert.False(ok);
        Assert.Contains("| s/seed-1 | bitwise | accuracy | 70.00% | 70.10% | exact (bitwise) |", Log(engine));
    }

    [Fact]
    public void Execute_CudaPlatformWithinTolerance_Passes()
    {
        LockSweepOn(5, "gpu", "cuda");

        var (ok, task, engine) = Verify("gpu", "0.705000", "0.505000", device: "cuda");

        Assert.True(ok, Log(engine));
        Assert.Equal("bitwise", task.CheckKinds);
    }
}
