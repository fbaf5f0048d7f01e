using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// The Slurm scheduler's stand-in for <see cref="RunExperimentStage"/>: the same target calls it only when MSBuild
/// found the stage stale, and instead of running the host it records the host's command line in the run's
/// <c>slurm/queue.txt</c> for <see cref="SubmitSlurmJobs"/>. So staleness is decided by exactly the targets of a
/// local build. A run whose Slurm job (<c>slurm/job.txt</c>) has not ended is left alone: never submitted twice.
/// </summary>
public sealed class QueueSlurmStage : ExperimentStageTask
{
    public override bool Execute()
    {
        string slurm = Path.Combine(OutputDirectory, "slurm");
        Directory.CreateDirectory(slurm);
        var queue = SlurmQueue.Read(slurm);
        if (queue.InFlightJob is not null)
        {
            Ran = Label;
            return true;
        }
        // The first stale stage of the run in this build: is its last job still pending or running?
        if (queue.Stages.Count == 0 && SlurmQueue.ReadJob(slurm) is { } job)
        {
            var states = SlurmCommands.States([job.Split('_')[0]], out string? error);
            if (states is null)
            {
                Log.LogError("Repro", ErrorCodes.SlurmUnreachable, null, ConfigFile, 0, 0, 0, 0,
                    $"experiment '{Label}': Slurm did not answer about its job {job} ({error}); is the cluster reachable from here (sinfo)?");
                return false;
            }
            string? state = states.GetValueOrDefault(job);
            if (state is not null && SlurmCommands.ActiveStates.Contains(state))
            {
                SlurmQueue.MarkInFlight(slurm, job);
                Log.LogMessage(MessageImportance.High, $"Repro: {Label}: still on Slurm job {job} ({state}); not submitted again");
                Ran = Label;
                return true;
            }
            if (state is not null && state != SlurmCommands.Completed)
                Log.LogMessage(MessageImportance.High, $"Repro: {Label}: its last Slurm job {job} ended {state}; submitting its stale stages again");
        }

        DeleteOutputs();
        if (Stage == "train")
        {
            // split.tsv is missing now when the same job splits first: the checkpoint must then match the one it writes.
            var pending = new HashSet<string>(queue.Stages.SelectMany(s => s.Outputs), StringComparer.Ordinal);
            CheckpointGuard.Apply(Log, Label, OutputDirectory, CheckpointInputs.Select(i => i.ItemSpec), DiscardCheckpoint, pending);
        }

        var arguments = HostArguments().Prepend(Command);
        SlurmQueue.Append(slurm, new SlurmQueue.QueuedStage(Stage, [.. Outputs.Select(o => o.ItemSpec)], string.Join(" ", arguments.Select(SlurmCommands.Quote))));
        Log.LogMessage(MessageImportance.High, $"Repro: {Label}: {Stage} queued for Slurm");
        Ran = Label;
        return !Log.HasLoggedErrors;
    }
}
