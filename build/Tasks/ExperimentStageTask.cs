using Microsoft.Build.Framework;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// What a stage target hands to whatever executes the stage — <see cref="RunExperimentStage"/> here, or
/// <see cref="QueueSlurmStage"/> on a cluster — and the one host command line both run, so the two cannot drift.
/// </summary>
public abstract class ExperimentStageTask : Microsoft.Build.Utilities.Task
{
    /// <summary>The experiment's name.</summary>
    [Required]
    public string Experiment { get; set; } = "";

    /// <summary>The run's name in messages (<c>&lt;name&gt;/seed-&lt;s&gt;</c> for a seed of a sweep); empty: the experiment's name.</summary>
    public string RunName { get; set; } = "";

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

    /// <summary>The run's stamps/run.json (written by <see cref="ReadExperiments"/>): the typed run the host executes.</summary>
    [Required]
    public string RunStamp { get; set; } = "";

    /// <summary>Train stage: delete any checkpoint first (-p:Force=true means from scratch). Whether a checkpoint is
    /// stale otherwise is the host's decision (Repro.Core's TrainingCheckpoint), made when it trains.</summary>
    public bool DiscardCheckpoint { get; set; }

    /// <summary>
    /// Also run the stages after <see cref="Stage"/> (train and test after split, test after train) in the same host
    /// process. A stage that runs rewrites what the next one reads, so every later stage is stale anyway: this saves
    /// their host start-ups (.NET and LibTorch, over a second each) and their targets then find their outputs up to date.
    /// </summary>
    public bool LaterStages { get; set; }

    /// <summary>
    /// The program started with "exec &lt;Program&gt; &lt;stage&gt; …": empty means dotnet (DOTNET_HOST_PATH when set).
    /// Tests put a script here that dies by a signal, since no CPU here crashes on demand.
    /// </summary>
    public string HostCommand { get; set; } = "";

    /// <summary>The run's name when the stage ran or was queued (the others are reported up to date).</summary>
    [Output]
    public string? Ran { get; protected set; }

    /// <summary>The run's name in messages.</summary>
    protected string Label => RunName.Length > 0 ? RunName : Experiment;

    /// <summary>The program that runs the host.</summary>
    protected string Command => HostCommand is { Length: > 0 } ? HostCommand
        : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>Where the run's files are.</summary>
    protected ExperimentLayout Layout => ExperimentLayout.ForRun(OutputDirectory);

    /// <summary>The stage as the layout knows it.</summary>
    protected Stage StageKind => Enum.Parse<Stage>(Stage, ignoreCase: true);

    /// <summary>The stages the host runs: <see cref="Stage"/>, and with <see cref="LaterStages"/> every one after it.</summary>
    protected IReadOnlyList<Stage> Stages => LaterStages
        ? [.. RunResult.StampedStages.SkipWhile(s => s != StageKind)]
        : [StageKind];

    /// <summary>
    /// The host's arguments for this stage: the run stamp is the contract between the build and the host (the host
    /// does not read experiments.yaml).
    /// </summary>
    protected IReadOnlyList<string> HostArguments()
    {
        var arguments = new List<string> { "exec", Program, Stage, "--run-stamp", RunStamp };
        // The build re-runs train when the settings, data or code changed: a checkpoint from before is discarded, not an error.
        if (Stages.Contains(Repro.Config.Stage.Train))
            arguments.Add("--discard-stale-checkpoint");
        if (LaterStages)
            arguments.Add("--later-stages");
        return arguments;
    }

    /// <summary>
    /// Deletes what the stages write before they run, so until they succeed nothing looks complete; with
    /// <see cref="DiscardCheckpoint"/>, train's checkpoint too.
    /// </summary>
    protected void DeleteOutputs()
    {
        if (File.Exists(Layout.Failure))
            File.Delete(Layout.Failure);
        foreach (var output in Stages.SelectMany(Layout.Outputs))
            if (File.Exists(output))
                File.Delete(output);
        if (Stages.Contains(Repro.Config.Stage.Train) && DiscardCheckpoint && Directory.Exists(Layout.Checkpoints))
        {
            Log.LogMessage(MessageImportance.High, $"Repro: {Label}: discarding the checkpoint (Force)");
            Directory.Delete(Layout.Checkpoints, recursive: true);
        }
    }
}
