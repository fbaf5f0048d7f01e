using Microsoft.Build.Framework;
using Repro.Config;
using Repro.Config.IO;

namespace Repro.Build.Tasks;

/// <summary>
/// Prints one table of every experiment and variant (<see cref="ExperimentTable"/>): the settings that differ between
/// them, test accuracy, loss and macro F1 over their finished seeds, their status and their change against the lock.
/// Reads the files runs left; never runs a stage.
/// </summary>
public sealed class ShowExperiments : Microsoft.Build.Utilities.Task
{
    /// <summary>experiments.yaml.</summary>
    [Required]
    public string ConfigFile { get; set; } = "";

    /// <summary>Folder holding experiments/&lt;name&gt;/ outputs.</summary>
    [Required]
    public string ArtifactsDirectory { get; set; } = "";

    /// <summary>The lock file, for the change of each experiment's accuracy against it.</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>The F# host's assembly: its folder's Repro.*.dll are every stage's inputs, so rebuilt tools make runs stale.</summary>
    [Required]
    public string Program { get; set; } = "";

    /// <summary>Names or tags separated by ';' (variants of a named experiment included); empty shows everything.</summary>
    public string Selection { get; set; } = "";

    /// <summary>"name", or a metric (accuracy, loss, macro_f1, …) to sort by, best first; empty keeps experiments.yaml's order.</summary>
    public string Sort { get; set; } = "";

    /// <summary>md, csv or json: also write the table in that format to <see cref="OutputFile"/>; empty prints only.</summary>
    public string Format { get; set; } = "";

    /// <summary>Where to write the table when <see cref="Format"/> is set (its extension follows the format).</summary>
    public string OutputFile { get; set; } = "";

    public override bool Execute()
    {
        var file = ExperimentsFile.Load(ConfigFile);
        foreach (var e in file.Errors)
            Log.LogError("Repro", e.Code, null, e.File, e.Line, e.Column, e.Line, e.Column, e.Message);
        if (Format is not ("" or "md" or "csv" or "json"))
            Log.LogError("Repro", ErrorCodes.BadShowOption, null, ConfigFile, 0, 0, 0, 0, $"-p:ReproShowFormat must be md, csv or json, not '{Format}'");
        if (Sort is not ("" or "name") && Metric.Find(Sort) is null)
            Log.LogError("Repro", ErrorCodes.BadShowOption, null, ConfigFile, 0, 0, 0, 0,
                $"-p:Sort must be name or a metric ({string.Join(", ", Metric.All.Select(m => m.Key))}), not '{Sort}'");
        if (Log.HasLoggedErrors)
            return false;

        var locked = ResultsLock.Read(File.Exists(LockFile) ? File.ReadAllText(LockFile) : null);
        string tools = Path.GetDirectoryName(Path.GetFullPath(Program))!;
        var assemblies = Directory.Exists(tools) ? Directory.GetFiles(tools, "Repro.*.dll") : [];
        var rows = ExperimentTable.Sorted(Selected(ExperimentTable.Rows(file, ArtifactsDirectory, locked, assemblies)), Sort);
        string baseDirectory = Path.GetDirectoryName(Path.GetFullPath(ConfigFile))!;
        string markdown = ExperimentTable.Markdown(rows, baseDirectory);
        foreach (var line in markdown.TrimEnd('\n').Split('\n'))
            Log.LogMessage(MessageImportance.High, line);
        if (Format.Length > 0)
        {
            AtomicFile.WriteAllText(OutputFile, Format switch
            {
                "csv" => ExperimentTable.Csv(rows, baseDirectory),
                "json" => ExperimentTable.Json(rows, baseDirectory),
                _ => markdown,
            });
            Log.LogMessage(MessageImportance.High, $"Repro: {rows.Count} experiments written to {OutputFile}");
        }
        return !Log.HasLoggedErrors;
    }

    private List<ExperimentRow> Selected(List<ExperimentRow> rows)
    {
        var wanted = Selection.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (wanted.Length == 0)
            return rows;
        var selected = rows.Where(r => wanted.Any(w => r.Name == w || ExperimentVariant.ParentOf(r.Name) == w || r.Spec.Tags.Contains(w))).ToList();
        if (selected.Count == 0)
            Log.LogWarning("Repro", ErrorCodes.NoSuchSelection, null, ConfigFile, 0, 0, 0, 0, $"no experiment, variant or tag named '{Selection}'");
        return selected;
    }
}
