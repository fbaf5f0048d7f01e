using System.Diagnostics;
using System.Reflection;
using Repro.Build.Tasks;

namespace Repro.Core.Tests.Engine;

/// <summary>
/// Runs a whole stage the way the build does: the F# host (Repro.Experiments.dll) as a child process. A native crash
/// in LibTorch (SIGFPE in oneDNN on some CPUs) then fails the one test, naming the signal, instead of killing the
/// test host and aborting the whole run.
/// </summary>
internal static class HostProcess
{
    /// <summary>This configuration's Repro.Experiments.dll, built first through the test project's reference.</summary>
    public static string Assembly { get; } = typeof(HostProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ReproHostAssembly").Value!;

    /// <summary>Runs <c>&lt;stage&gt; --config … --experiment … --output …</c>; returns what it printed (stdout and stderr).</summary>
    public static List<string> Run(string stage, string configFile, string experiment, string output)
    {
        var (exitCode, lines) = Exec(Path.GetDirectoryName(configFile)!, stage, "--config", configFile, "--experiment", experiment, "--output", output);
        if (exitCode != 0)
        {
            string how = ProcessSignals.Describe(exitCode) is { } signal ? $"was killed by {signal}" : "failed";
            Assert.Fail($"{experiment}: the host's {stage} {how} (exit code {exitCode}); see {ProcessSignals.Troubleshooting}. Last lines:\n"
                + string.Join('\n', lines.TakeLast(10)));
        }
        return lines;
    }

    /// <summary>Runs the host with <paramref name="arguments"/>; returns its exit code and what it printed (stdout and stderr).</summary>
    public static (int ExitCode, List<string> Lines) Exec(string workingDirectory, params string[] arguments) =>
        Exec(workingDirectory, new Dictionary<string, string?>(), [], arguments);

    /// <summary>
    /// Runs the host with <paramref name="arguments"/> and these environment variables (null: unset), under
    /// <paramref name="wrapper"/> when given (e.g. qemu-x86_64 -cpu Haswell); returns its exit code and what it printed.
    /// </summary>
    public static (int ExitCode, List<string> Lines) Exec(string workingDirectory, IReadOnlyDictionary<string, string?> environment,
        IReadOnlyList<string> wrapper, params string[] arguments)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        // An emulator opens the program by its path, without PATH or symbolic links: dotnet finds its runtime beside
        // the file it really is.
        if (wrapper.Count > 0)
            dotnet = RealPath(dotnet);
        var info = new ProcessStartInfo(wrapper.Count > 0 ? wrapper[0] : dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var (name, value) in environment)
        {
            if (value is null)
                info.Environment.Remove(name);
            else
                info.Environment[name] = value;
        }
        foreach (var arg in wrapper.Skip(1).Concat(wrapper.Count > 0 ? [dotnet] : []).Concat(["exec", Assembly]).Concat(arguments))
            info.ArgumentList.Add(arg);

        var lines = new List<string>();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{string.Join(' ', arguments)}: did not finish in 10 minutes:\n{string.Join('\n', lines)}");
        }
        process.WaitForExit();
        return (process.ExitCode, lines);
    }

    private static string RealPath(string program)
    {
        string? path = Path.IsPathRooted(program) ? program
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
        if (path is null)
            Assert.Fail($"{program} is not on PATH");
        return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
    }
}
