namespace Repro.Build.Tasks;

/// <summary>
/// Names the signal that ended a child process. On Unix, .NET reports a child killed by signal N as exit code
/// 128 + N (Process.ExitCode, as shells do), so a native crash in LibTorch shows up as a bare number such as 136;
/// this turns it into something a person can act on. Shared as source with the tests that run the F# host as a
/// child process (tests/Repro.Core.Tests), so a crash reads the same there as in the build.
/// </summary>
internal static class ProcessSignals
{
    /// <summary>Where the docs explain each signal and what to do about it.</summary>
    public const string Troubleshooting = "docs/troubleshooting.md#a-stage-killed-by-a-signal";

    /// <summary>
    /// "SIGFPE (arithmetic fault in native code)" for an exit code that means "killed by a signal", otherwise null.
    /// Windows reports crashes as NTSTATUS codes, not signals: null there.
    /// </summary>
    public static string? Describe(int exitCode)
    {
        if (OperatingSystem.IsWindows() || exitCode <= 128 || exitCode > 128 + 64)
            return null;
        int signal = exitCode - 128;
        // Linux and macOS agree on these numbers; SIGBUS is 7 on Linux, 10 on macOS (where 7 is SIGEMT).
        return signal switch
        {
            1 => "SIGHUP (the terminal or session went away)",
            2 => "SIGINT (interrupted, Ctrl+C)",
            3 => "SIGQUIT (quit, Ctrl+\\)",
            4 => "SIGILL (illegal instruction in native code: a CPU feature the binary assumes is missing)",
            6 => "SIGABRT (aborted by native code)",
            7 when !OperatingSystem.IsMacOS() => "SIGBUS (bus error in native code: a truncated or unmapped file, or misaligned memory)",
            10 when OperatingSystem.IsMacOS() => "SIGBUS (bus error in native code: a truncated or unmapped file, or misaligned memory)",
            8 => "SIGFPE (arithmetic fault in native code)",
            9 => "SIGKILL (killed, often out of memory)",
            11 => "SIGSEGV (invalid memory access in native code)",
            13 => "SIGPIPE (its output was closed)",
            15 => "SIGTERM (terminated by another process)",
            _ => $"signal {signal}",
        };
    }
}
