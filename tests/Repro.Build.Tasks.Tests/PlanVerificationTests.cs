using System.Globalization;
using Repro.Config;

namespace Repro.Build.Tasks.Tests;

public sealed class PlanVerificationTests : IDisposable
{
    private readonly string artifacts = Path.Combine(Directory.CreateTempSubdirectory("repro-plan-").FullName, "artifacts");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(artifacts)!, recursive: true);

    private LockEntry Sweep(string name, int seeds) => LockEntry.FromRuns([.. Enumerable.Range(1, seeds).Select(s => RunResult.Read(ResultFiles.WriteOutput(
        artifacts, name, (0.70 + 0.02 * (s - 1)).ToString("F6", CultureInfo.InvariantCulture), platform: "author", seed: (ulong)s))!)], "c0de");

    [Fact]
    public void Table_FiveLockedSeeds_OneRowPerKWithTheBandFirstThenWelch()
    {
        string table = PlanVerification.Table([Sweep("s", 5)]);

        // Accuracy spread 3.16 pp: the band detects 18.86 pp, Welch with 5 seeds (3.355 + 0.889) * sqrt(2/5) * 3.16 pp.
        Assert.Contains("| s | 5 (author) | 1 | 99 % prediction band | 18.86 pp,", table);
        Assert.Contains("| s | 5 (author) | 5 | Welch's test | 8.49 pp,", table);
        Assert.Equal(5, table.Split('\n').Count(l => l.StartsWith("| s |", StringComparison.Ordinal)));
    }

    [Fact]
    public void Table_TooFewLockedSeeds_SaysNoCheck() =>
        Assert.Contains("| one | 1 | — | none: too few seeds (at least 3) | — |", PlanVerification.Table([Sweep("one", 1)]));
}
