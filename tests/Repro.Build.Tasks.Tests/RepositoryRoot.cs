namespace Repro.Build.Tasks.Tests;

/// <summary>The repository's root: tests run from artifacts/bin/…, so walk up to the folder holding Repro.sln.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Repro.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no Repro.sln above {AppContext.BaseDirectory}");
    }
}
