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

    /// <summary>Every seed of a sweep (true), or only its first seed (false: what VerifyExperiments re-runs by default).</summary>
    public bool AllSeeds { get; set; } = true;

    /// <summary>
    /// One item per run of a selected experiment (per seed of a sweep, named <c>&lt;name&gt;/seed-&lt;s&gt;</c>), with its
    /// stamp and output paths, the experiment's name (<c>Experiment</c>), its seed (<c>Seed</c>) and folder as metadata.
    /// </summary>
    [Output]
    public ITaskItem[] Experiments { get; private set; } = [];

    public override bool Execute()
    {
        var file = ExperimentsFile.Load(ConfigFile);
        foreach (var e in file.Errors)
            Log.LogError("Repro", e.Code, null, e.File, e.Line, e.Column, e.Line, e.Column, e.Message);
        if (Log.HasLoggedErrors)
            return false;

        var selected = Select(file);
        if (Log.HasLoggedErrors)
            return false;

        string baseDir = Path.GetDirectoryName(file.Path)!;
        var items = new List<ITaskItem>();
        foreach (var experiment in selected)
        {
            string experimentDir = Path.Combine(Path.GetFullPath(ArtifactsDirectory), "experiments", experiment.Name);
            var seeds = experiment.Seeds;
            if (!AllSeeds)
                seeds = [seeds[0]];
            foreach (ulong seed in seeds)
            {
                // A sweep runs each seed as its own experiment (own stamps, own outputs), so adding a seed runs only that seed.
                var run = experiment.IsSweep ? experiment.WithSeed(seed) : experiment;
                string dir = experiment.IsSweep ? Path.Combine(experimentDir, RunFolder(seed)) : experimentDir;
                items.Add(Item(run, experiment.IsSweep ? $"{experiment.Name}/{RunFolder(seed)}" : experiment.Name, dir, experimentDir, file.Path, baseDir));
            }
        }
        Experiments = [.. items];
        return !Log.HasLoggedErrors;
    }

    /// <summary>The folder of one seed of a sweep, under the experiment's folder.</summary>
    public static string RunFolder(ulong seed) => "seed-" + seed.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private TaskItem Item(Experiment experiment, string id, string dir, string experimentDir, string configFile, string baseDir)
    {
        string stamps = Path.Combine(dir, "stamps");
        Directory.CreateDirectory(stamps);
        var item = new TaskItem(id);
        item.SetMetadata("Experiment", experiment.Name);
        item.SetMetadata("Seed", experiment.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        item.SetMetadata("Sweep", experiment.IsSweep ? "true" : "false");
        item.SetMetadata("ExperimentDirectory", experimentDir + Path.DirectorySeparatorChar);
        item.SetMetadata("OutputDirectory", dir + Path.DirectorySeparatorChar);
        item.SetMetadata("SplitStamp", WriteStamp(Path.Combine(stamps, "split.json"), experiment.Canonical(Stage.Split, baseDir)));
        item.SetMetadata("TrainStamp", WriteStamp(Path.Combine(stamps, "train.json"), experiment.Canonical(Stage.Train, baseDir)));
        item.SetMetadata("TestStamp", WriteStamp(Path.Combine(stamps, "test.json"), experiment.Canonical(Stage.Test, baseDir)));
        item.SetMetadata("DataStamp", WriteStamp(Path.Combine(stamps, "data.txt"), DataListing(experiment.Dataset.Root)));
        item.SetMetadata("SplitManifest", Path.Combine(dir, "split.tsv"));
        item.SetMetadata("TrainOutput", Path.Combine(dir, "training.json"));
        item.SetMetadata("TestOutput", Path.Combine(dir, "metrics.json"));
        item.SetMetadata("Pretrained", experiment.Pretrained ?? "");
        item.SetMetadata("Tags", string.Join(",", experiment.Tags));
        item.SetMetadata("Tutorial", experiment.Tutorial);
        item.SetMetadata("ConfigFile", configFile);
        item.SetMetadata("Line", experiment.Line.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Slurm resources of the run (-p:ReproScheduler=slurm); slurm_cpus 0 asks for as many CPUs as the run's threads.
        long cpus = (long)experiment.Values["slurm_cpus"]! is > 0 and var c ? c : experiment.Threads;
        item.SetMetadata("SlurmPartition", (string?)experiment.Values["slurm_partition"] ?? "");
        item.SetMetadata("SlurmCpus", cpus.ToString(System.Globalization.CultureInfo.InvariantCulture));
        item.SetMetadata("SlurmMem", (string?)experiment.Values["slurm_mem"] ?? "");
        item.SetMetadata("SlurmTime", (string?)experiment.Values["slurm_time"] ?? "");
        item.SetMetadata("SlurmGpus", ((long)experiment.Values["slurm_gpus"]!).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return item;
    }

    private List<Experiment> Select(ExperimentsFile file)
    {
        var wanted = (Selection ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (wanted.Length == 0)
            wanted = [DefaultTag];
        var selected = new List<Experiment>();
        foreach (var word in wanted)
        {
            var matches = file.Experiments.Where(e => e.Name == word || e.Tags.Contains(word)).ToList();
            if (matches.Count == 0)
            {
                string? hint = Schema.Suggest(word, file.Experiments.Select(e => e.Name).Concat(file.Experiments.SelectMany(e => e.Tags)).Distinct());
                Log.LogError("Repro", "REPRO131", null, file.Path, 0, 0, 0, 0,
                    $"no experiment or tag named '{word}'" + (hint is null ? "" : $"; did you mean '{hint}'?"));
            }
            foreach (var m in matches.Where(m => !selected.Contains(m)))
                selected.Add(m);
        }
        return selected;
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
    private static string DataListing(string root)
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
