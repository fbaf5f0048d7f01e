using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Repro.Build.Tasks;

/// <summary>
/// The Slurm scheduler's stand-in for <see cref="RunExperimentStage"/>: the same target calls it only when MSBuild
/// found the stage stale, and instead of running the host it records the host's command line in the run's
/// <c>slurm/queue.txt</c> for <see cref="SubmitSlurmJobs"/>. So staleness is decided by exactly the targets of a
/// local build. A run whose Slurm job (<c>slurm/job.txt</c>) has not ended is left alone: never submitted twice.
/// </summary>
public sealed class QueueSlurmStage : Microsoft.Build.Utilities.Task
{
    /// <summary>The experiment's name.</summary>
    [Required]
    public string Experiment { get; set; } = "";

    /// <summary>The run's name in messages (<c>&lt;name&gt;/seed-&lt;s&gt;</c> for a seed of a sweep); empty: the experiment's name.</summary>
    public string RunName { get; set; } = "";

    /// <summary>The seed of one run of a sweep, passed to the host as <c>--seed</c>; empty: the experiment's own seed.</summary>
    public string Seed { get; set; } = "";

    /// <summary>split, train or test.</summary>
    [Required]
    public string Stage { get; set; } = "";

    /// <summary>The experiments.yaml the experiment comes from.</summary>
    [Required]
    public string ConfigFile { get; set; } = "";

    /// <summary>The F# host's assembly (Repro.Experiments.dll).</summary>
    [Required]
    public string Program { get; set; } = "";

    /// <summary>The run's output folder.</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    /// <summary>Files this stage produces; deleted now, so that nothing looks complete until the job has written them.</summary>
    public ITaskItem[] Outputs { get; set; } = [];

    /// <summary>Train stage: the inputs a resumable checkpoint must match (as for <see cref="RunExperimentStage"/>).</summary>
    public ITaskItem[] CheckpointInputs { get; set; } = [];

    /// <summary>Train stage: delete any checkpoint first (-p:Force=true means from scratch).</summary>
    public bool DiscardCheckpoint { get; set; }

    /// <summary>The program the job starts with "exec &lt;Program&gt; &lt;stage&gt; …": empty means dotnet (DOTNET_HOST_PATH when set).</summary>
    public string HostCommand { get; set; } = "";

    /// <summary>The run's name when the stage was queued or is still on Slurm (so the build does not call it up to date).</summary>
    [Output]
    public string? Ran { get; private set; }

    private string Label => RunName.Length > 0 ? RunName : Experiment;

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
                Log.LogError("Repro", "REPRO211", null, ConfigFile, 0, 0, 0, 0,
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

        foreach (var output in Outputs)
            if (File.Exists(output.ItemSpec))
                File.Delete(output.ItemSpec);
        if (Stage == "train")
        {
            // split.tsv is missing now when the same job splits first: the checkpoint must then match the one it writes.
            var pending = new HashSet<string>(queue.Stages.SelectMany(s => s.Outputs), StringComparer.Ordinal);
            CheckpointGuard.Apply(Log, Label, OutputDirectory, CheckpointInputs.Select(i => i.ItemSpec), DiscardCheckpoint, pending);
        }

        string command = HostCommand is { Length: > 0 } ? HostCommand
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var arguments = new List<string> { command, "exec", Program, Stage, "--config", ConfigFile, "--experiment", Experiment, "--output", OutputDirectory };
        if (Seed.Length > 0)
            arguments.AddRange(["--seed", Seed]);
        if (Stage == "train")
            arguments.Add("--discard-stale-checkpoint");
        SlurmQueue.Append(slurm, new SlurmQueue.QueuedStage(Stage, [.. Outputs.Select(o => o.ItemSpec)], string.Join(" ", arguments.Select(SlurmCommands.Quote))));
        Log.LogMessage(MessageImportance.High, $"Repro: {Label}: {Stage} queued for Slurm");
        Ran = Label;
        return !Log.HasLoggedErrors;
    }
}
