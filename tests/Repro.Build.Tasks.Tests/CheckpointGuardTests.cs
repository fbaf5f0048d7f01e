using Microsoft.Build.Utilities;

namespace Repro.Build.Tasks.Tests;

/// <summary>
/// The checkpoint check with an input the same Slurm job writes first (split.tsv when split and train are both stale):
/// queued while the file is missing, it must accept the file that job writes, and only that one.
/// </summary>
public sealed class CheckpointGuardTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-guard-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Split => Path.Combine(dir, "split.tsv");

    private string Checkpoint => Path.Combine(dir, "checkpoint");

    private void Apply(bool pending)
    {
        var task = new QueueSlurmStage { BuildEngine = new RecordingBuildEngine() };
        CheckpointGuard.Apply(task.Log, "a", dir, [Split], discard: false, pending ? new HashSet<string> { Split } : []);
    }

    [Fact]
    public void Apply_PendingInputWrittenAfterQueueing_KeepsCheckpoint()
    {
        Apply(pending: true);
        File.WriteAllText(Split, "written by the job");
        File.SetLastWriteTimeUtc(Split, DateTime.UtcNow.AddSeconds(5));
        Directory.CreateDirectory(Checkpoint);

        Apply(pending: false);

        Assert.True(Directory.Exists(Checkpoint));
    }

    [Fact]
    public void Apply_PendingInputStillMissing_DiscardsCheckpoint()
    {
        Apply(pending: true);
        Directory.CreateDirectory(Checkpoint);

        Apply(pending: false);

        Assert.False(Directory.Exists(Checkpoint));
    }

    [Fact]
    public void Apply_PendingInputOlderThanRecord_DiscardsCheckpoint()
    {
        File.WriteAllText(Split, "from before");
        File.SetLastWriteTimeUtc(Split, DateTime.UtcNow.AddHours(-1));
        Apply(pending: true);
        Directory.CreateDirectory(Checkpoint);

        Apply(pending: false);

        Assert.False(Directory.Exists(Checkpoint));
    }
}
