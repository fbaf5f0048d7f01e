using System.Diagnostics;

namespace Repro.Core.Validation;

/// <summary>The Python with PyTorch and torchvision that the parity checks compare against (Debian's /usr/bin/python3).</summary>
public static class ReferencePython
{
    /// <summary>Debian's python3, which python3-torch and python3-torchvision install into.</summary>
    public const string Default = "/usr/bin/python3";

    /// <summary>Runs <paramref name="python"/> with <paramref name="arguments"/> (a command line), returning its exit code and
    /// its output and errors together; -1 and a note when it ran past <paramref name="timeout"/> (then it is killed).</summary>
    public static (int Code, string Output) Run(string python, string arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(python, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Runs a script of the repository's scripts/ folder, failing with its output when it fails.</summary>
    public static string RunScript(string python, string script, string arguments, TimeSpan timeout)
    {
        var (code, output) = Run(python, $"\"{script}\" {arguments}", timeout);
        if (code != 0)
            throw new InvalidOperationException($"{script} failed (exit code {code}): {output.Trim()}");
        return output;
    }
}
