using Microsoft.Build.Framework;

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

    /// <summary>Files this stage produces; deleted before it runs so that a failed run leaves nothing that looks complete.</summary>
    public ITaskItem[] Outputs { get; set; } = [];

    /// <summary>
    /// Train stage: files whose content or timestamp a resumable checkpoint must match (the train stamp, split.tsv,
    /// the host's assemblies). The host resumes any checkpoint of the same settings; the build reruns train also
    /// when the data or the code changed, and then a checkpoint written before the change must not be resumed.
    /// </summary>
    public ITaskItem[] CheckpointInputs { get; set; } = [];

    /// <summary>Train stage: delete any checkpoint first (-p:Force=true means from scratch).</summary>
    public bool DiscardCheckpoint { get; set; }

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

    /// <summary>The host's arguments for this stage: the command line is the contract between the build and the host.</summary>
    protected IReadOnlyList<string> HostArguments()
    {
        var arguments = new List<string> { "exec", Program, Stage, "--config", ConfigFile, "--experiment", Experiment, "--output", OutputDirectory };
        if (Seed.Length > 0)
            arguments.AddRange(["--seed", Seed]);
        // The build's CheckpointGuard already kept only a checkpoint of these inputs; one of other settings is discarded.
        if (Stage == "train")
            arguments.Add("--discard-stale-checkpoint");
        return arguments;
    }

    /// <summary>Deletes what the stage writes, before it runs: until it succeeds, nothing looks complete.</summary>
    protected void DeleteOutputs()
    {
        foreach (var output in Outputs)
            if (File.Exists(output.ItemSpec))
                File.Delete(output.ItemSpec);
    }
}
