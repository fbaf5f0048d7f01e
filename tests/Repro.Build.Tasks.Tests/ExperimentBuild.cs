using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Repro.Build.Tasks.Tests;

/// <summary>
/// Runs <c>dotnet build Repro.sln -t:&lt;target&gt;</c> on a temporary experiments.yaml as a child process and
/// reads, from its log, which stages ran. The build tools are shared with the repository (artifacts/bin), so only
/// the first build compiles anything; they are the Debug ones, which <c>dotnet test</c> builds anyway and which
/// the tests may touch without making the repository's own (Release) results stale.
/// </summary>
public static partial class ExperimentBuild
{
    public sealed record Result(int ExitCode, string Log)
    {
        /// <summary>"experiment:stage" for each stage the build ran ("Repro: a: train").</summary>
        public SortedSet<string> Ran { get; } = new(StageRan().Matches(Log).Select(m => $"{m.Groups["name"].Value}:{m.Groups["stage"].Value}"), StringComparer.Ordinal);

        /// <summary>Experiments the build reported up to date.</summary>
        public SortedSet<string> UpToDate { get; } = new(UpToDateLine().Matches(Log).Select(m => m.Groups["name"].Value), StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^\s*Repro: (?<name>[\w./@=,+~-]+): (?<stage>split|train|test)\s*$", RegexOptions.Multiline)]
    private static partial Regex StageRan();

    [GeneratedRegex(@"^\s*Repro: (?<name>[\w./@=,+~-]+) is up to date\s*$", RegexOptions.Multiline)]
    private static partial Regex UpToDateLine();

    /// <summary>
    /// The solution restored once per test run: each build below then skips NuGet's restore, about 7 of a no-op build's
    /// 11 seconds on 2 cores, over the 40-odd builds these tests make.
    /// </summary>
    private static readonly Lazy<Result> Restored = new(() => Dotnet(RepositoryRoot.Path, ["restore", Path.Combine(RepositoryRoot.Path, "Repro.sln"), "-nodeReuse:false", "-v:m"]));

    public static Result Run(string configFile, string target, params string[] properties)
    {
        if (Restored.Value.ExitCode != 0)
            throw new InvalidOperationException($"dotnet restore Repro.sln failed:\n{Restored.Value.Log}");
        return Dotnet(Path.GetDirectoryName(configFile)!, ["build", Path.Combine(RepositoryRoot.Path, "Repro.sln"), "--no-restore", $"-t:{target}", $"-p:ReproConfigFile={configFile}",
            "-p:ReproConfiguration=Debug", "-nodeReuse:false", "-p:UseSharedCompilation=false", "-v:m", "-clp:NoSummary", .. properties.Select(p => "-p:" + p)]);
    }

    private static Result Dotnet(string workingDirectory, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        // The test host's MSBuild variables would point the child build at the test's MSBuild, not the SDK's.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var arg in arguments)
            info.ArgumentList.Add(arg);

        var log = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish in 8 minutes:\n{log}");
        }
        process.WaitForExit();
        lock (log)
            return new Result(process.ExitCode, log.ToString());
    }
}
