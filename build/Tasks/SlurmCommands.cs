using System.Diagnostics;

namespace Repro.Build.Tasks;

/// <summary>
/// The Slurm commands the scheduler tasks use (squeue, sacct, scontrol, sbatch, scancel), run as child processes,
/// and the job states they report.
/// </summary>
internal static class SlurmCommands
{
    /// <summary>States of a job that has not ended: it must not be submitted again, and a waiting build keeps waiting.</summary>
    public static readonly IReadOnlySet<string> ActiveStates = new HashSet<string>(StringComparer.Ordinal)
    {
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
        "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT",
    };

    public const string Completed = "COMPLETED";

    /// <summary>Runs a command; a missing program is exit code -1 with the reason as stderr.</summary>
    public static (int ExitCode, string Out, string Error) Run(string program, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output, error.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, "", $"{program}: {e.Message}");
        }
    }

    /// <summary>
    /// The state of every task of the given job arrays, as "&lt;array&gt;_&lt;task&gt;" → state ("CANCELLED by 0" → CANCELLED).
    /// squeue answers for jobs that have not ended; sacct for ended ones where the cluster keeps accounting, else
    /// scontrol (slurmctld remembers ended jobs for MinJobAge). Null, with <paramref name="error"/>, when Slurm does not answer.
    /// </summary>
    public static Dictionary<string, string>? States(IReadOnlyCollection<string> arrayJobIds, out string? error)
    {
        error = null;
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        if (arrayJobIds.Count == 0)
            return states;
        string ids = string.Join(",", arrayJobIds);
        var queue = Run("squeue", ["-h", "-r", "-j", ids, "-o", "%i|%T"]);
        // squeue fails on ids it no longer knows (ended and purged): that is an answer, not an outage.
        if (queue.ExitCode != 0 && !queue.Error.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
        {
            error = $"squeue: {Trim(queue.Error, queue.ExitCode)}";
            return null;
        }
        Parse(queue.Out, states);
        var accounting = Run("sacct", ["-n", "-P", "-X", "-j", ids, "-o", "JobID,State"]);
        if (accounting.ExitCode == 0)
        {
            Parse(accounting.Out, states);
            return states;
        }
        foreach (var id in arrayJobIds)
        {
            var show = Run("scontrol", ["show", "job", "-o", id]);
            if (show.ExitCode != 0)
                continue;
            foreach (var line in show.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => f.Split('=', 2)).Where(f => f.Length == 2)
                    .GroupBy(f => f[0]).ToDictionary(g => g.Key, g => g.First()[1], StringComparer.Ordinal);
                if (fields.TryGetValue("ArrayJobId", out var job) && fields.TryGetValue("ArrayTaskId", out var task) && fields.TryGetValue("JobState", out var state)
                    && int.TryParse(task, out _))
                    states.TryAdd($"{job}_{task}", state);
            }
        }
        return states;
    }

    /// <summary>"id|STATE" lines; squeue's state wins over sacct's (added first), sacct's "CANCELLED by uid" keeps its first word.</summary>
    private static void Parse(string output, Dictionary<string, string> states)
    {
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('|');
            if (parts.Length >= 2 && parts[1].Length > 0)
                states.TryAdd(parts[0], parts[1].Split(' ')[0]);
        }
    }

    public static string Trim(string error, int exitCode) =>
        error.Trim() is { Length: > 0 } e ? e : $"exit code {exitCode}";

    /// <summary>A POSIX shell word that stands for exactly <paramref name="value"/>.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
