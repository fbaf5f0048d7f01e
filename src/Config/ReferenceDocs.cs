using System.Globalization;
using System.Text;

namespace Repro.Config;

/// <summary>
/// docs/reference.md's tables, rendered from the code that owns their facts: experiments.yaml's keys from
/// <see cref="Schema"/> and the error codes from <see cref="ErrorCodes"/>. Each table sits between a
/// <c>&lt;!-- generated: part --&gt;</c> line and an <c>&lt;!-- end: part --&gt;</c> line; the prose around them is
/// written by hand. <see cref="Command"/> rewrites the tables and a test fails while the committed file differs.
/// </summary>
public static class ReferenceDocs
{
    /// <summary>What regenerates the file; failures name it.</summary>
    public const string Command = "dotnet build -t:WriteReference";

    /// <summary>The file, relative to the repository root.</summary>
    public const string RelativePath = "docs/reference.md";

    /// <summary>The generated parts, by marker name.</summary>
    public static IReadOnlyDictionary<string, Func<string>> Parts { get; } = new Dictionary<string, Func<string>>(StringComparer.Ordinal)
    {
        ["dataset-keys"] = () => KeyTable(Schema.DatasetKeys),
        ["experiment-keys"] = () => KeyTable(Schema.ExperimentKeys),
        ["error-codes"] = ErrorCodes.MarkdownTable,
    };

    /// <summary>
    /// <paramref name="document"/> (LF line ends) with every generated part rendered anew; an
    /// <see cref="InvalidDataException"/> names a part whose markers are missing or out of order.
    /// </summary>
    public static string Render(string document)
    {
        string text = document.ReplaceLineEndings("\n");
        foreach (var (name, render) in Parts)
        {
            string begin = $"<!-- generated: {name} ", end = $"\n<!-- end: {name} -->";
            int start = text.IndexOf(begin, StringComparison.Ordinal);
            int stop = start < 0 ? -1 : text.IndexOf(end, start, StringComparison.Ordinal);
            if (stop < 0)
                throw new InvalidDataException($"{RelativePath}: the markers of the generated table '{name}' are missing (a '{begin}…-->' line, "
                    + $"then '{end.Trim()}'): put them back around the table");
            int body = text.IndexOf('\n', start) + 1;
            text = text[..body] + render() + text[(stop + 1)..];
        }
        return text;
    }

    /// <summary>A table of keys: key | type | default | range | re-runs | meaning.</summary>
    public static string KeyTable(IEnumerable<SettingSpec> keys)
    {
        var table = new StringBuilder("| key | type | default | range | re-runs | meaning |\n|---|---|---|---|---|---|\n");
        foreach (var k in keys)
            table.Append($"| `{k.Key}` | {KindName(k.Kind)} | {Cell(DefaultText(k.Default))} | {Cell(RangeText(k))} | {StagesText(k.Stages)} | {Cell(k.Help)} |\n");
        return table.ToString();
    }

    private static string KindName(SettingKind kind) => kind switch
    {
        SettingKind.StringList => "string list",
        SettingKind.IntList => "int list",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string DefaultText(object? value) => value switch
    {
        null => "—",
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        Enum e => Choice.Name(e),
        "" => "\"\"",
        string s => s,
        string[] { Length: 0 } => "[]",
        _ => throw new InvalidOperationException($"a default of type {value.GetType().Name} has no documented form"),
    };

    private static string RangeText(SettingSpec k)
    {
        if (k.Choices is { } choices)
            return string.Join(", ", choices);
        if (k.Kind == SettingKind.Split)
            return "official, or a fraction between 0 and 1 (exclusive)";
        if (k.Min == double.MinValue)
            return "—";
        string min = k.Min.ToString(CultureInfo.InvariantCulture);
        return k.Max == double.MaxValue ? $"≥ {min}" : $"{min} – {k.Max.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The stages whose stamps hold the key: changing it re-runs them (and the later stages that read their output).</summary>
    private static string StagesText(Stage stages) =>
        stages == Stage.None ? "none"
            : string.Join(", ", new[] { Stage.Split, Stage.Train, Stage.Test }.Where(s => stages.HasFlag(s)).Select(s => s.ToString().ToLowerInvariant()));

    // A '|' would end the cell.
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
