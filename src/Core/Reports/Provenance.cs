using System.Diagnostics;

namespace Repro.Core.Reports;

/// <summary>Where a result came from: code revision, libraries, machine, numeric settings.</summary>
/// <param name="Precision">The model's input type and layout: float32 or bfloat16 (<c>bf16</c> on CUDA), ", channels-last" with <c>channels_last</c>.</param>
/// <param name="Deterministic">LibTorch's deterministic-algorithms flag as read back; <c>null</c> when unreachable.</param>
/// <param name="Platform">What decides the float bits on this machine, with its id; <c>null</c> when not recorded.</param>
/// <param name="Numerics">The experiment's <c>numerics</c> setting.</param>
public sealed record Provenance(string Commit, bool Dirty, string TorchSharp, string LibTorch, string Device, int Threads, string Os,
    string Precision = "float32", bool? Deterministic = null, Engine.NumericsPlatform? Platform = null,
    Repro.Config.NumericsMode Numerics = Repro.Config.NumericsMode.Native)
{
    /// <summary>Reads the git state of <paramref name="directory"/>; "unknown" outside a repository or without git.</summary>
    public static (string Commit, bool Dirty) Git(string directory)
    {
        string? commit = Run(directory, "rev-parse HEAD")?.Trim();
        string? status = Run(directory, "status --porcelain --untracked-files=no");
        return (string.IsNullOrEmpty(commit) ? "unknown" : commit, !string.IsNullOrWhiteSpace(status));
    }

    private static string? Run(string directory, string arguments)
    {
        try
        {
            var info = new ProcessStartInfo("git", arguments)
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(info);
            if (process is null)
                return null;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
