using System.Diagnostics;

namespace Repro.Config.IO;

/// <summary>Runs a program to completion with its output captured: the one process runner of the parity checks and the tests.</summary>
public static class ChildProcess
{
    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="arguments"/> (each passed as one argument, no shell), returning
    /// its exit code and its output and errors together; -1 and a note when it ran past <paramref name="timeout"/> (it is
    /// killed then, with its children), -2 and the reason when it cannot be started.
    /// </summary>
    public static (int Code, string Output) Run(string program, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-2, e.Message);
        }
        using (process)
        {
            // Both streams are drained at once: a child filling one pipe while we wait on the other would hang.
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"timed out after {timeout}");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }
}
