using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// A run's Slurm files in <c>&lt;run&gt;/slurm/</c>: <c>queue.txt</c> (this build's stale stages and their host command
/// lines, or the job the run is still on), <c>job.txt</c> (the array task it was last submitted as, e.g. 123_4),
/// <c>run.sh</c> (what the task runs), <c>stage.txt</c> (the stage it is in) and <c>log.txt</c> (its output).
/// </summary>
internal static class SlurmQueue
{
    public sealed record QueuedStage(string Stage, string[] Outputs, string Command);

    public sealed record Queue(IReadOnlyList<QueuedStage> Stages, string? InFlightJob);

    public static Queue Read(ExperimentLayout run)
    {
        string path = run.SlurmQueue;
        if (!File.Exists(path))
            return new Queue([], null);
        var stages = new List<QueuedStage>();
        string? inFlight = null;
        foreach (var line in File.ReadAllLines(path))
        {
            var fields = line.Split('\t');
            if (fields is ["inflight", var job])
                inFlight = job;
            else if (fields is ["stage", var stage, var outputs, var command])
                stages.Add(new QueuedStage(stage, outputs.Split(';', StringSplitOptions.RemoveEmptyEntries), command));
        }
        return new Queue(stages, inFlight);
    }

    public static void Append(ExperimentLayout run, QueuedStage stage) =>
        File.AppendAllText(run.SlurmQueue, $"stage\t{stage.Stage}\t{string.Join(";", stage.Outputs)}\t{stage.Command}\n");

    public static void MarkInFlight(ExperimentLayout run, string job) => File.WriteAllText(run.SlurmQueue, $"inflight\t{job}\n");

    public static string? ReadJob(ExperimentLayout run) =>
        File.Exists(run.SlurmJob) && File.ReadAllText(run.SlurmJob).Trim() is { Length: > 0 } job ? job : null;
}
