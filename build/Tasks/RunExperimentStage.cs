using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// Runs one stage of one experiment (with <see cref="ExperimentStageTask.LaterStages"/>, the stages after it too) in the
/// F# host as a child process (LibTorch's native memory stays out of MSBuild), streams its output into the build log,
/// and turns a failure into an error naming the experiment and the stage that was running.
/// </summary>
public sealed partial class RunExperimentStage : ExperimentStageTask, ICancelableTask
{
    private Process? process;
    private string running = "";

    /// <summary>Seconds to wait for another build that holds the experiment's lock.</summary>
    public int LockTimeoutSeconds { get; set; } = 30;

    /// <summary>How many of the host's last output lines a failure quotes.</summary>
    internal const int LastLineCount = 10;

    public override bool Execute()
    {
        Directory.CreateDirectory(OutputDirectory);
        using var lockFile = AcquireLock();
        if (lockFile is null)
            return false;

        DeleteOutputs();

        Log.LogMessage(MessageImportance.High, $"Repro: {Label}: {Stage}");
        RunHost();
        process = null;
        if (!Log.HasLoggedErrors)
            Ran = Label;
        return !Log.HasLoggedErrors;
    }

    /// <summary>Runs the host for this stage, streaming its output into the log; a non-zero exit is logged as REPRO200.</summary>
    private void RunHost()
    {
        var info = new ProcessStartInfo(Command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(ConfigFile))!,
        };
        foreach (var arg in HostArguments())
            info.ArgumentList.Add(arg);

        // The stage running now: the host announces each of a chain ("<run>: stage <name>"), and a failure names it.
        running = Stage;
        var errors = new List<string>();
        // The host's last lines of stdout and stderr, in the order they arrived: after a native crash they are
        // the only trace of where it was.
        var last = new Queue<string>();
        bool loggedHostError = false;
        using (process = new Process { StartInfo = info })
        {
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                    return;
                if (StageStart(e.Data) is { } stage)
                {
                    if (stage != running)
                        Log.LogMessage(MessageImportance.High, $"Repro: {Label}: {stage}");
                    running = stage;
                    return;
                }
                Remember(last, e.Data);
                Log.LogMessage(MessageImportance.High, $"  {e.Data}");
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                    return;
                Remember(last, e.Data);
                if (OnError(e.Data, errors))
                    loggedHostError = true;
            };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            // Without a timeout this also waits for both output streams to reach their end.
            process.WaitForExit();
            if (process.ExitCode != 0)
                LogFailure(process.ExitCode, errors, loggedHostError, last);
        }
    }

    public void Cancel()
    {
        try
        {
            process?.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    [GeneratedRegex(@"^.+: stage (?<stage>split|train|test)$")]
    private static partial Regex StageLine();

    /// <summary>The stage a line of the host's output announces (with --later-stages), else null.</summary>
    private string? StageStart(string line) =>
        LaterStages && StageLine().Match(line) is { Success: true } m ? m.Groups["stage"].Value : null;

    // The host prints configuration errors as "file(line,col): error CODE: message": keep their position.
    [GeneratedRegex(@"^(?<file>.+)\((?<line>\d+),(?<col>\d+)\): error (?<code>\w+): (?<message>.*)$")]
    private static partial Regex CanonicalError();

    /// <summary>Logs a positioned error line of the host as an MSBuild error (true), or keeps the line for REPRO200.</summary>
    private bool OnError(string line, List<string> errors)
    {
        var m = CanonicalError().Match(line);
        if (m.Success)
        {
            int l = int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture);
            int c = int.Parse(m.Groups["col"].Value, System.Globalization.CultureInfo.InvariantCulture);
            Log.LogError("Repro", m.Groups["code"].Value, null, m.Groups["file"].Value, l, c, l, c, $"{Label}: {m.Groups["message"].Value}");
            return true;
        }
        lock (errors)
            errors.Add(line.Trim());
        return false;
    }

    private static void Remember(Queue<string> last, string line)
    {
        lock (last)
        {
            last.Enqueue(line);
            if (last.Count > LastLineCount)
                last.Dequeue();
        }
    }

    /// <summary>
    /// REPRO200. A signal (a native crash, the OOM killer) is named and explained, with the host's last lines since
    /// it printed no error of its own; any other exit keeps the host's error lines, or quotes its last lines when
    /// it printed none.
    /// </summary>
    private void LogFailure(int exitCode, List<string> errors, bool loggedHostError, Queue<string> last)
    {
        string[] tail;
        lock (last)
            tail = [.. last];
        string quoted = tail.Length == 0 ? " It printed nothing."
            : $" Its last {(tail.Length == 1 ? "line" : $"{tail.Length} lines")}:\n" + string.Join("\n", tail.Select(l => "    " + l));
        string message;
        if (ProcessSignals.Describe(exitCode) is { } signal)
        {
            message = $"experiment '{Label}' failed in stage '{running}': the host process was killed by {signal} (exit code {exitCode}).{quoted}"
                + $"\nSee \"Troubleshooting\" in Repro's {ProcessSignals.Troubleshooting} for what this means and what to do.";
        }
        else
        {
            string detail = errors.Count > 0 ? ": " + string.Join(" ", errors) : "";
            message = $"experiment '{Label}' failed in stage '{running}' (exit code {exitCode}){detail}";
            if (errors.Count == 0 && !loggedHostError)
                message += "." + quoted;
        }
        Log.LogError("Repro", ErrorCodes.StageFailed, null, ConfigFile, 0, 0, 0, 0, message);
        // What ShowExperiments reports as this run's status until a stage runs again.
        Repro.Config.IO.AtomicFile.WriteAllText(Layout.Failure, $"{running}\n{message}\n");
    }

    /// <summary>One build at a time per experiment: a second waits, then stops with a clear message.</summary>
    private FileStream? AcquireLock()
    {
        string path = Layout.RunLock;
        var deadline = DateTime.UtcNow.AddSeconds(LockTimeoutSeconds);
        bool told = false;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                if (!told)
                    Log.LogMessage(MessageImportance.High, $"Repro: {Label}: another build is running this experiment; waiting up to {LockTimeoutSeconds} s");
                told = true;
                Thread.Sleep(500);
            }
            catch (IOException)
            {
                Log.LogError("Repro", ErrorCodes.ExperimentLocked, null, path, 0, 0, 0, 0,
                    $"experiment '{Label}' is being run by another build (lock {path} held for over {LockTimeoutSeconds} s); try again when it finishes");
                return null;
            }
        }
    }
}
