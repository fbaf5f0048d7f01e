using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Repro.Config;
using Repro.Config.IO;

namespace Repro.Build.Tasks;

/// <summary>
/// Reads and validates experiments.yaml, selects experiments, and writes each stage's stamp file (the
/// canonical settings that stage depends on) only when its content changed, so that MSBuild's
/// Inputs/Outputs comparison re-runs exactly the stale stages.
/// </summary>
public sealed class ReadExperiments : Microsoft.Build.Utilities.Task
{
    /// <summary>The experiments.yaml to read.</summary>
    [Required]
    public string ConfigFile { get; set; } = "";

    /// <summary>Folder under which each experiment gets <c>experiments/&lt;name&gt;/</c>.</summary>
    [Required]
    public string ArtifactsDirectory { get; set; } = "";

    /// <summary>Names or tags separated by ';'; empty selects the experiments tagged <see cref="DefaultTag"/>.</summary>
    public string? Selection { get; set; }

    /// <summary>The tag selected when <see cref="Selection"/> is empty.</summary>
    public string DefaultTag { get; set; } = "quick";

    /// <summary>Rewrite every stamp so that every selected stage runs again.</summary>
    public bool Force { get; set; }

    /// <summary>How many seeds of each sweep, from its first: 0 for every seed (VerifyExperiments re-runs 1 by default, -p:ReproVerifySeeds=k).</summary>
    public int SeedLimit { get; set; }

    /// <summary>Settings (<c>key=value</c> separated by ';', -p:Set) under which each selected experiment runs as a variant
    /// named <c>&lt;experiment&gt;@&lt;key&gt;=&lt;value&gt;,…</c>; empty runs the experiments as written.</summary>
    public string? Overrides { get; set; }

    /// <summary>
    /// One item per run of a selected experiment (per seed of a sweep, named <c>&lt;name&gt;/seed-&lt;s&gt;</c>), with its
    /// stamp and output paths, the experiment's name (<c>Experiment</c>), its seed (<c>Seed</c>) and folder as metadata;
    /// a variant's items name the experiment it was made from in <c>Parent</c> (empty for an experiment as written).
    /// </summary>
    [Output]
    public ITaskItem[] Experiments { get; private set; } = [];

    public override bool Execute()
    {
        var file = ExperimentsFile.Load(ConfigFile);
        LogErrors(file.Errors);
        if (Log.HasLoggedErrors)
            return false;

        var selected = Variants(file, Select(file));
        if (Log.HasLoggedErrors)
            return false;

        var items = new List<ITaskItem>();
        foreach (var experiment in selected)
        {
            var seeds = SeedLimit > 0 ? [.. experiment.Seeds.Take(SeedLimit)] : experiment.Seeds;
            // A sweep runs each seed as its own experiment (own stamps, own outputs), so adding a seed runs only that seed.
            foreach (ulong seed in seeds)
                items.Add(Item(ScheduledRun.Create(file.Path, experiment, experiment.IsSweep ? seed : null, ArtifactsDirectory)));
        }
        Experiments = [.. items];
        return !Log.HasLoggedErrors;
    }

    private TaskItem Item(ScheduledRun run)
    {
        var layout = run.Layout;
        var spec = run.Spec;
        Directory.CreateDirectory(layout.Stamps);
        var item = new TaskItem(run.Name);
        item.SetMetadata("Experiment", spec.Name);
        item.SetMetadata("Parent", ExperimentVariant.IsVariant(spec.Name) ? ExperimentVariant.ParentOf(spec.Name) : "");
        item.SetMetadata("Seed", spec.Seed.ToString(CultureInfo.InvariantCulture));
        item.SetMetadata("Sweep", spec.IsSweep ? "true" : "false");
        item.SetMetadata("ExperimentDirectory", layout.ExperimentDirectory + Path.DirectorySeparatorChar);
        item.SetMetadata("OutputDirectory", layout.Directory + Path.DirectorySeparatorChar);
        item.SetMetadata("SplitStamp", WriteStamp(layout.SplitStamp, run.Canonical(Stage.Split)));
        item.SetMetadata("TrainStamp", WriteStamp(layout.TrainStamp, run.Canonical(Stage.Train)));
        item.SetMetadata("TestStamp", WriteStamp(layout.TestStamp, run.Canonical(Stage.Test)));
        item.SetMetadata("DataStamp", WriteStamp(layout.DataStamp, DataListing(spec.Dataset.Root)));
        // Not a stage input: it also holds settings no result depends on (description, loader threads), which must
        // not re-run anything; every setting a stage depends on is in that stage's stamp.
        item.SetMetadata("RunStamp", WriteStamp(layout.RunStamp, run.ToJson()));
        item.SetMetadata("SplitManifest", layout.SplitManifest);
        item.SetMetadata("TrainOutput", layout.Training);
        item.SetMetadata("TestOutput", layout.Metrics);
        item.SetMetadata("SlurmQueue", layout.SlurmQueue);
        item.SetMetadata("Pretrained", spec.Model.Pretrained ?? "");
        item.SetMetadata("Tags", string.Join(",", spec.Tags));
        item.SetMetadata("Tutorial", spec.Tutorial);
        item.SetMetadata("ConfigFile", run.ConfigFile);
        item.SetMetadata("Line", spec.Line.ToString(CultureInfo.InvariantCulture));
        // Slurm resources of the run (-p:ReproScheduler=slurm); slurm_cpus 0 asks for as many CPUs as the run's threads.
        var slurm = spec.Slurm;
        item.SetMetadata("SlurmPartition", slurm.Partition);
        item.SetMetadata("SlurmCpus", (slurm.Cpus > 0 ? slurm.Cpus : spec.Runtime.Threads).ToString(CultureInfo.InvariantCulture));
        item.SetMetadata("SlurmMem", slurm.Mem);
        item.SetMetadata("SlurmTime", slurm.Time);
        item.SetMetadata("SlurmGpus", slurm.Gpus.ToString(CultureInfo.InvariantCulture));
        return item;
    }

    private List<ExperimentSpec> Select(ExperimentsFile file)
    {
        var wanted = (Selection ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (wanted.Length == 0)
            wanted = [DefaultTag];
        var selected = new List<ExperimentSpec>();
        foreach (var word in wanted)
        {
            var matches = file.Experiments.Where(e => e.Name == word || e.Tags.Contains(word)).ToList();
            if (matches.Count == 0)
            {
                string? hint = Schema.Suggest(word, file.Experiments.Select(e => e.Name).Concat(file.Experiments.SelectMany(e => e.Tags)).Distinct());
                Log.LogError("Repro", ErrorCodes.NoSuchSelection, null, file.Path, 0, 0, 0, 0,
                    $"no experiment or tag named '{word}'" + (hint is null ? "" : $"; did you mean '{hint}'?"));
            }
            foreach (var m in matches.Where(m => !selected.Contains(m)))
                selected.Add(m);
        }
        return selected;
    }

    /// <summary>The variants of <paramref name="selected"/> under <see cref="Overrides"/> (errors at -p:Set), or the selection itself without any.</summary>
    private List<ExperimentSpec> Variants(ExperimentsFile file, List<ExperimentSpec> selected)
    {
        var overrides = SettingOverrides.Parse(Overrides, file.Path);
        var errors = overrides.Errors.ToList();
        if (overrides.IsEmpty || errors.Count > 0)
        {
            LogErrors(errors);
            return selected;
        }
        var variants = new List<ExperimentSpec>();
        foreach (var experiment in selected)
        {
            var (variant, found) = overrides.ApplyTo(experiment, file.Datasets);
            errors.AddRange(found);
            if (variant is not null)
                variants.Add(variant);
        }
        LogErrors(errors);
        return variants;
    }

    /// <summary>Logs each error at its place; no end position, so MSBuild shows <c>file(line,col)</c> (<c>-p:Set(1,col)</c> for overrides).</summary>
    private void LogErrors(IEnumerable<ConfigError> errors)
    {
        foreach (var e in errors)
            Log.LogError("Repro", e.Code, null, e.File, e.Line, e.Column, 0, 0, e.Message);
    }

    /// <summary>Writes <paramref name="content"/> unless the file already holds it, so its timestamp moves only on change.</summary>
    private string WriteStamp(string path, string content)
    {
        if (Force)
            AtomicFile.WriteAllText(path, content);
        else if (!AtomicFile.WriteIfChanged(path, content))
            return path;
        Log.LogMessage(MessageImportance.Low, $"Repro: stamp {path} changed");
        return path;
    }

    /// <summary>Every data file's relative path, size and modification time: changes when the data does, costs only a directory walk.</summary>
    internal static string DataListing(string root)
    {
        if (!Directory.Exists(root))
            return "missing\n";
        var lines = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => new FileInfo(f))
            .Select(f => $"{Path.GetRelativePath(root, f.FullName).Replace('\\', '/')}\t{f.Length}\t{f.LastWriteTimeUtc.Ticks}")
            .OrderBy(l => l, StringComparer.Ordinal);
        return string.Join("\n", lines) + "\n";
    }
}
