using System.Text.RegularExpressions;
using Repro.Build.Tasks.Tests;

namespace Repro.Config.Tests;

public sealed class SchemaTests
{
    /// <summary>The keys README.md's tables document, per table heading ("Dataset keys", "Experiment keys").</summary>
    private static HashSet<string> ReadmeKeys(string heading)
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "README.md"));
        int start = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no '{heading}' section");
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in readme[start..].Split('\n').Skip(1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')))
            if (Regex.Match(line, @"^\| `(?<key>[a-z0-9_]+)` \|") is { Success: true } m)
                keys.Add(m.Groups["key"].Value);
        return keys;
    }

    [Fact]
    public void ExperimentKeys_Readme_DocumentsExactlyEveryKey() =>
        Assert.Equal(Schema.ExperimentKeys.Select(k => k.Key).Order(), ReadmeKeys("Experiment keys").Order());

    [Fact]
    public void DatasetKeys_Readme_DocumentsExactlyEveryKey() =>
        Assert.Equal(Schema.DatasetKeys.Select(k => k.Key).Order(), ReadmeKeys("Dataset keys").Order());

    [Theory]
    [InlineData("epoch", "epochs")]
    [InlineData("test_bach", "test_batch")]
    [InlineData("zzzzzzzz", null)]
    public void Suggest_Typo_ReturnsClosestKeyOrNull(string typo, string? expected) =>
        Assert.Equal(expected, Schema.Suggest(typo, Schema.ExperimentKeys.Select(k => k.Key)));
}
