using Microsoft.Build.Framework;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// Compares runs re-run from scratch with the lock file (<see cref="LockVerification"/>): bitwise where the lock holds
/// this platform's bytes or identical bytes of another platform, statistical elsewhere, with the power of the check
/// stated. A foreign platform without a distribution is an error, never a pass.
/// </summary>
public sealed class VerifyResults : Microsoft.Build.Utilities.Task
{
    /// <summary>The re-run runs (one per checked seed), with their (scratch) OutputDirectory metadata.</summary>
    [Required]
    public ITaskItem[] Experiments { get; set; } = [];

    /// <summary>The committed lock file.</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>The current code fingerprint; a lock made from other code is reported, not failed, when its numbers still match.</summary>
    [Required]
    public string CodeFingerprint { get; set; } = "";

    /// <summary>CUDA only: largest allowed absolute difference of accuracies (fractions, e.g. 0.01).</summary>
    public double CudaAccuracyTolerance { get; set; } = 0.01;

    /// <summary>CUDA only: largest allowed relative difference of the test loss (e.g. 0.05).</summary>
    public double CudaLossTolerance { get; set; } = 0.05;

    /// <summary>"bitwise", "statistical" or "bitwise+statistical": the kinds of check that ran (for CI output).</summary>
    [Output]
    public string CheckKinds { get; private set; } = "";

    public override bool Execute()
    {
        if (!File.Exists(LockFile))
        {
            Log.LogError("Repro", ErrorCodes.NoLockFile, null, LockFile, 0, 0, 0, 0, "no lock file: run 'dotnet build -t:RunExperiments' and commit it");
            return false;
        }
        if (ResultReader.RequireAll(Log, Experiments) is not { } runs)
            return false;

        var options = new VerificationOptions(CodeFingerprint, CudaAccuracyTolerance, CudaLossTolerance);
        var report = new LockVerification(ResultsLock.Read(File.ReadAllText(LockFile)), options).Check(runs, LockFile);
        foreach (var line in report.Messages)
            Log.LogMessage(MessageImportance.High, $"Repro: {line}");
        foreach (var (code, text) in report.Errors)
            Log.LogError("Repro", code, null, LockFile, 0, 0, 0, 0, text);
        CheckKinds = report.CheckKinds;
        // CI readers look for this line: which kind of reproducibility the run actually showed.
        Log.LogMessage(MessageImportance.High, $"Repro: VerifyExperiments check: {(report.Kinds.Count == 0 ? "none" : CheckKinds)}");
        if (Log.HasLoggedErrors)
            return false;
        if (report.Differences.Count == 0)
        {
            Log.LogMessage(MessageImportance.High, $"Repro: verified {Experiments.Length} run(s) against {LockFile} ({CheckKinds} check): all pass");
            return true;
        }
        Log.LogError("Repro", ErrorCodes.ResultsDiffer, null, LockFile, 0, 0, 0, 0, $"re-running differs from the locked results:\n{report.DifferencesTable()}");
        return false;
    }
}
