using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// Submits the stages <see cref="QueueSlurmStage"/> recorded as Slurm job arrays, one array task per run running
/// its stale stages in order, one array per set of resources; then, unless told not to, waits for those tasks (and
/// for runs still on an earlier build's jobs), logging each state change, and reports a task that did not complete.
/// </summary>
public sealed class SubmitSlurmJobs : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private readonly List<string> submitted = [];
    private volatile bool cancelled;

    /// <summary>The selected runs (ReadExperiments' items): OutputDirectory, ConfigFile, Line and the Slurm* resources.</summary>
    [Required]
    public ITaskItem[] Runs { get; set; } = [];

    /// <summary>Folder for each array's script, run list and Slurm output files (under artifacts/).</summary>
    [Required]
    public string JobsDirectory { get; set; } = "";

    /// <summary>Site-specific sbatch options (-p:ReproSlurmArgs), split on spaces, passed before the script.</summary>
    public string ExtraArguments { get; set; } = "";

    /// <summary>Wait for the tasks to end (default); false returns after submitting, printing the job ids.</summary>
    public bool Wait { get; set; } = true;

    /// <summary>Seconds between two looks at the tasks' states while waiting.</summary>
    public int PollSeconds { get; set; } = 5;

    /// <summary>True when runs are still on Slurm as this task returns (Wait=false): their results are not there yet.</summary>
    [Output]
    public bool Pending { get; private set; }

    /// <summary>The array task (e.g. 123_4) of each run on Slurm, as items named by the run with a Run metadata.</summary>
    [Output]
    public ITaskItem[] Jobs { get; private set; } = [];

    private sealed record SlurmRun(ITaskItem Item, ExperimentLayout Layout, string Job);

    public override bool Execute()
    {
        var runs = new List<SlurmRun>();
        var queued = new List<(ITaskItem Item, ExperimentLayout Layout, IReadOnlyList<SlurmQueue.QueuedStage> Stages)>();
        foreach (var item in Runs)
        {
            var layout = ExperimentLayout.ForRun(item.GetMetadata("OutputDirectory"));
            var queue = SlurmQueue.Read(layout);
            if (queue.InFlightJob is { } job)
                runs.Add(new SlurmRun(item, layout, job));
            else if (queue.Stages.Count > 0)
                queued.Add((item, layout, queue.Stages));
        }

        // One array per set of resources: an array's tasks all get the same sbatch options.
        foreach (var group in queued.GroupBy(q => Resources(q.Item), StringComparer.Ordinal))
        {
            var members = group.ToList();
            string id = Submit(group.Key, members.Select(m => (m.Item, m.Layout, m.Stages)).ToList());
            if (id.Length == 0)
                return false;
            submitted.Add(id);
            for (int i = 0; i < members.Count; i++)
            {
                string job = $"{id}_{i}";
                File.WriteAllText(members[i].Layout.SlurmJob, job + "\n");
                File.Delete(members[i].Layout.SlurmQueue);
                runs.Add(new SlurmRun(members[i].Item, members[i].Layout, job));
            }
            Log.LogMessage(MessageImportance.High, $"Repro: submitted Slurm job array {id}: "
                + string.Join(", ", members.Select((m, i) => $"{id}_{i} {m.Item.ItemSpec} ({string.Join(", ", m.Stages.Select(s => s.Stage))})")));
        }
        Jobs = [.. runs.Select(r => { var t = new TaskItem(r.Job); t.SetMetadata("Run", r.Item.ItemSpec); return (ITaskItem)t; })];
        if (runs.Count == 0)
            return true;
        if (!Wait)
        {
            Pending = true;
            Log.LogMessage(MessageImportance.High, $"Repro: not waiting (-p:ReproWait=false): {string.Join(", ", runs.Select(r => $"{r.Item.ItemSpec} on {r.Job}"))}; "
                + "build again to collect the results (runs still on Slurm are not submitted again)");
            return true;
        }
        WaitFor(runs);
        return !Log.HasLoggedErrors;
    }

    public void Cancel()
    {
        cancelled = true;
        // The build that submitted the arrays and is waiting for them stops them with it (-p:ReproWait=false detaches).
        if (submitted.Count > 0)
            SlurmCommands.Run("scancel", submitted);
    }

    /// <summary>The sbatch options of a run's resources, as one string (the grouping key).</summary>
    private static string Resources(ITaskItem run)
    {
        var options = new List<string>();
        if (run.GetMetadata("SlurmPartition") is { Length: > 0 } partition)
            options.Add($"--partition={partition}");
        if (run.GetMetadata("SlurmCpus") is { Length: > 0 } cpus && cpus != "0")
            options.Add($"--cpus-per-task={cpus}");
        if (run.GetMetadata("SlurmMem") is { Length: > 0 } mem)
            options.Add($"--mem={mem}");
        if (run.GetMetadata("SlurmTime") is { Length: > 0 } time)
            options.Add($"--time={time}");
        if (run.GetMetadata("SlurmGpus") is { Length: > 0 } gpus && gpus != "0")
            options.Add($"--gpus={gpus}");
        return string.Join("\n", options);
    }

    /// <summary>Writes each run's run.sh and the array's script, submits it; returns the array's job id, or "" after an error.</summary>
    private string Submit(string resources, List<(ITaskItem Item, ExperimentLayout Layout, IReadOnlyList<SlurmQueue.QueuedStage> Stages)> members)
    {
        string folder = Path.Combine(Path.GetFullPath(JobsDirectory), DateTime.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        var scripts = new List<string>();
        foreach (var (item, layout, stages) in members)
        {
            string script = layout.SlurmScript;
            string workDir = Path.GetDirectoryName(Path.GetFullPath(item.GetMetadata("ConfigFile")))!;
            var text = new StringBuilder();
            text.Append("#!/usr/bin/env bash\n")
                .Append(CultureInfo.InvariantCulture, $"# Repro: {item.ItemSpec}: the stages the build found stale, in order (written by SubmitSlurmJobs).\n")
                .Append("set -u\n")
                .Append(CultureInfo.InvariantCulture, $"exec >>{SlurmCommands.Quote(layout.SlurmLog)} 2>&1\n")
                .Append("echo \"== Slurm job ${SLURM_ARRAY_JOB_ID:-?}_${SLURM_ARRAY_TASK_ID:-?} on $(hostname) at $(date -u +%FT%TZ)\"\n")
                .Append(CultureInfo.InvariantCulture, $"cd {SlurmCommands.Quote(workDir)} || exit 1\n");
            foreach (var stage in stages)
            {
                text.Append(CultureInfo.InvariantCulture, $"echo {stage.Stage} > {SlurmCommands.Quote(layout.SlurmStage)}\n")
                    .Append(CultureInfo.InvariantCulture, $"echo {SlurmCommands.Quote($"Repro: {item.ItemSpec}: {stage.Stage}")}\n")
                    .Append(CultureInfo.InvariantCulture, $"{stage.Command} || exit $?\n");
            }
            File.WriteAllText(script, text.ToString());
            File.Delete(layout.SlurmStage);
            scripts.Add(script);
        }
        File.WriteAllLines(Path.Combine(folder, "runs.txt"), scripts);
        string array = Path.Combine(folder, "array.sh");
        File.WriteAllText(array, "#!/usr/bin/env bash\n# One task per run: line SLURM_ARRAY_TASK_ID + 1 of runs.txt names its script.\n"
            + $"exec bash \"$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {SlurmCommands.Quote(Path.Combine(folder, "runs.txt"))})\"\n");

        var arguments = new List<string> { "--parsable", $"--array=0-{members.Count - 1}", "--job-name=repro", $"--output={Path.Combine(folder, "%a.out")}" };
        arguments.AddRange(resources.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        arguments.AddRange(ExtraArguments.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        arguments.Add(array);
        var (exitCode, output, error) = SlurmCommands.Run("sbatch", arguments);
        // --parsable prints "<id>" or "<id>;<cluster>".
        string id = output.Trim().Split(';')[0];
        if (exitCode != 0 || !long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            Log.LogError("Repro", ErrorCodes.SlurmUnreachable, null, members[0].Item.GetMetadata("ConfigFile"), 0, 0, 0, 0,
                $"sbatch did not submit {string.Join(", ", members.Select(m => m.Item.ItemSpec))}: {SlurmCommands.Trim(error + output, exitCode)} (sbatch {string.Join(" ", arguments)})");
            return "";
        }
        return id;
    }

    /// <summary>Polls until every task has ended, logging each change of state; a task that did not complete is REPRO210.</summary>
    private void WaitFor(List<SlurmRun> runs)
    {
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        var ended = new HashSet<string>(StringComparer.Ordinal);
        var unknownSince = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        var arrays = runs.Select(r => r.Job.Split('_')[0]).Distinct().ToList();
        Log.LogMessage(MessageImportance.High, $"Repro: waiting for Slurm job{(arrays.Count == 1 ? "" : "s")} {string.Join(", ", arrays)} ({runs.Count} run{(runs.Count == 1 ? "" : "s")}; -p:ReproWait=false returns at once)");
        while (!cancelled && ended.Count < runs.Count)
        {
            var states = SlurmCommands.States(arrays, out string? error);
            if (states is null)
            {
                Log.LogError("Repro", ErrorCodes.SlurmUnreachable, null, runs[0].Item.GetMetadata("ConfigFile"), 0, 0, 0, 0,
                    $"Slurm stopped answering while the build waited for {string.Join(", ", arrays)} ({error}); the jobs may still run: build again to collect them");
                return;
            }
            foreach (var run in runs.Where(r => !ended.Contains(r.Job)))
            {
                if (!states.TryGetValue(run.Job, out var state))
                {
                    // Not yet visible, or ended and forgotten by a cluster without accounting: its outputs tell.
                    unknownSince.TryAdd(run.Job, DateTime.UtcNow);
                    if (DateTime.UtcNow - unknownSince[run.Job] < TimeSpan.FromSeconds(Math.Max(30, PollSeconds * 6)))
                        continue;
                    state = File.Exists(run.Item.GetMetadata("TestOutput")) ? SlurmCommands.Completed : "UNKNOWN";
                }
                if (last.GetValueOrDefault(run.Job) != state)
                    Log.LogMessage(MessageImportance.High, $"Repro: {run.Item.ItemSpec}: Slurm job {run.Job} {state}");
                last[run.Job] = state;
                if (!SlurmCommands.ActiveStates.Contains(state))
                {
                    ended.Add(run.Job);
                    if (state != SlurmCommands.Completed)
                        Failed(run, state);
                }
            }
            if (ended.Count < runs.Count)
                Thread.Sleep(TimeSpan.FromSeconds(Math.Max(1, PollSeconds)));
        }
    }

    /// <summary>REPRO210: the run, the stage it was in, the task and its state, where its log is, and the log's last lines.</summary>
    private void Failed(SlurmRun run, string state)
    {
        string stagePath = run.Layout.SlurmStage;
        string stage = File.Exists(stagePath) ? File.ReadAllText(stagePath).Trim() : "before its first stage";
        string log = run.Layout.SlurmLog;
        string[] tail = File.Exists(log) ? File.ReadLines(log).TakeLast(RunExperimentStage.LastLineCount).ToArray() : [];
        string quoted = tail.Length == 0 ? "" : $"\nIts last {tail.Length} lines:\n" + string.Join("\n", tail.Select(l => "    " + l));
        int.TryParse(run.Item.GetMetadata("Line"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int line);
        Log.LogError("Repro", ErrorCodes.SlurmTaskFailed, null, run.Item.GetMetadata("ConfigFile"), line, 0, line, 0,
            $"experiment '{run.Item.ItemSpec}' failed in stage '{stage}' on Slurm job {run.Job} ({state}); log: {log}{quoted}");
    }
}
