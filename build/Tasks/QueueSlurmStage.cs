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
        var run = Layout;
        Directory.CreateDirectory(run.Slurm);
        var queue = SlurmQueue.Read(run);
        if (queue.InFlightJob is not null)
        {
            Ran = Label;
            return true;
        }
        // The first stale stage of the run in this build: is its last job still pending or running?
        if (queue.Stages.Count == 0 && SlurmQueue.ReadJob(run) is { } job)
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
                SlurmQueue.MarkInFlight(run, job);
                Log.LogMessage(MessageImportance.High, $"Repro: {Label}: still on Slurm job {job} ({state}); not submitted again");
                Ran = Label;
                return true;
            }
            if (state is not null && state != SlurmCommands.Completed)
                Log.LogMessage(MessageImportance.High, $"Repro: {Label}: its last Slurm job {job} ended {state}; submitting its stale stages again");
        }

        DeleteOutputs();

        var arguments = HostArguments().Prepend(Command);
        SlurmQueue.Append(run, new SlurmQueue.QueuedStage(Stage, [.. Layout.Outputs(StageKind)], string.Join(" ", arguments.Select(SlurmCommands.Quote))));
        Log.LogMessage(MessageImportance.High, $"Repro: {Label}: {Stage} queued for Slurm");
        Ran = Label;
        return !Log.HasLoggedErrors;
    }
}
