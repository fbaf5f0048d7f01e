using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Repro.Config;

/// <summary>
/// Variants of experiments from the command line: <c>-p:Set="lr=0.002;epochs=3"</c> runs each selected experiment with
/// those settings under its own name, <c>&lt;parent&gt;@&lt;key&gt;=&lt;value&gt;,…</c> (keys sorted, values in one
/// canonical spelling, so <c>lr=2e-3</c> and <c>lr=0.002</c> name the same variant), and so in its own folder.
/// </summary>
public static class ExperimentVariant
{
    /// <summary>Between a variant's parent and its settings; experiments.yaml's names may not contain it.</summary>
    public const char Separator = '@';

    /// <summary>Where overrides come from, as errors name it (in the place of a file).</summary>
    public const string Origin = "-p:Set";

    /// <summary>Whether <paramref name="name"/> is a variant's (<c>parent@key=value,…</c>).</summary>
    public static bool IsVariant(string name) => name.Contains(Separator, StringComparison.Ordinal);

    /// <summary>The experiment a variant was made from; <paramref name="name"/> itself when it is not a variant's.</summary>
    public static string ParentOf(string name) => IsVariant(name) ? name[..name.IndexOf(Separator, StringComparison.Ordinal)] : name;
}

/// <summary>
/// The settings of <c>-p:Set</c>, each read exactly as experiments.yaml's value of its key would be (same reader, same
/// errors and codes), with errors at <c>-p:Set(1,column)</c>, the column counting from the property's first character.
/// </summary>
public sealed class SettingOverrides
{
    private sealed record Override(SettingSpec Spec, object? Value, int Column);

    private readonly List<Override> items = [];
    private readonly List<ConfigError> errors = [];
    private readonly string baseDirectory;

    private SettingOverrides(string baseDirectory) => this.baseDirectory = baseDirectory;

    /// <summary>Problems in the overrides themselves (syntax, keys, values).</summary>
    public IReadOnlyList<ConfigError> Errors => errors;

    /// <summary>Whether no setting is overridden (no variant: experiments run as written).</summary>
    public bool IsEmpty => items.Count == 0;

    /// <summary>"epochs=3,lr=0.002": what follows the parent's name and '@' in a variant's name.</summary>
    public string Suffix => string.Join(",", items.OrderBy(i => i.Spec.Key, StringComparer.Ordinal).Select(i => $"{i.Spec.Key}={NameText(i)}"));

    /// <summary>The variant name of <paramref name="parent"/> under these overrides.</summary>
    public string NameOf(string parent) => $"{parent}{ExperimentVariant.Separator}{Suffix}";

    /// <summary>Reads <c>key=value</c> items separated by ';'; paths resolve against <paramref name="configFile"/>'s folder.</summary>
    public static SettingOverrides Parse(string? text, string configFile)
    {
        var overrides = new SettingOverrides(Path.GetDirectoryName(Path.GetFullPath(configFile)) ?? ".");
        int column = 1;
        foreach (string item in (text ?? "").Split(';'))
        {
            if (item.Trim().Length > 0)
                overrides.Add(item, column);
            column += item.Length + 1;
        }
        return overrides;
    }

    private void Add(string item, int column)
    {
        int equals = item.IndexOf('=', StringComparison.Ordinal);
        string key = equals < 0 ? "" : item[..equals].Trim();
        int keyColumn = column + item.Length - item.TrimStart().Length;
        if (key.Length == 0)
            Error(keyColumn, ErrorCodes.SetItemNotKeyValue, $"'{item.Trim()}' is not key=value (such as lr=0.002; separate settings with ';' and quote the whole property)");
        else if (Schema.FindExperimentKey(key) is not { Key: not "name" } spec)
            Error(keyColumn, ErrorCodes.UnknownKey, key == "name"
                ? "'name' cannot be set: a variant is named after its experiment and its settings"
                : $"unknown key '{key}'" + SettingReader.Hint(Schema.Suggest(key, Schema.ExperimentKeys.Select(k => k.Key))));
        else if (items.Any(i => i.Spec.Key == key))
            Error(keyColumn, ErrorCodes.SetKeyRepeated, $"'{key}' is set twice");
        else if (ReadValue(spec, item[(equals + 1)..], column + equals + 1) is var (ok, value) && ok)
            items.Add(new Override(spec, value, keyColumn));
    }

    /// <summary>The value as YAML (so <c>seeds=[1, 2]</c> is a list), read by the schema's reader; false when it is wrong (reported).</summary>
    private (bool Ok, object? Value) ReadValue(SettingSpec spec, string text, int column)
    {
        int before = errors.Count;
        YamlNode node;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            node = stream.Documents.Count > 0 ? stream.Documents[0].RootNode : new YamlScalarNode("");
        }
        catch (YamlException e)
        {
            Error(column + Math.Max(0, (int)e.Start.Column - 1), ErrorCodes.YamlSyntax, $"'{spec.Key}': not a YAML value: {e.Message}");
            return (false, null);
        }
        var reader = new SettingReader(baseDirectory, (at, code, message) => Error(column + Math.Max(0, (int)at.Start.Column - 1), code, message));
        object? value = reader.Read(spec, node);
        return (errors.Count == before, value);
    }

    /// <summary>
    /// <paramref name="parent"/> with these settings, named <see cref="NameOf"/>: checked as experiments.yaml checks an
    /// entry (the dataset exists, every <see cref="ExperimentRules"/> rule holds); null with the errors when not.
    /// </summary>
    public (ExperimentSpec? Variant, IReadOnlyList<ConfigError> Errors) ApplyTo(ExperimentSpec parent, IReadOnlyDictionary<string, DatasetSpec> datasets)
    {
        var found = new List<ConfigError>();
        string name = NameOf(parent.Name);
        var values = Schema.ExperimentKeys.ToDictionary(k => k.Key, k => k.Read(parent), StringComparer.Ordinal);
        foreach (var item in items)
            values[item.Spec.Key] = item.Value;
        if (!datasets.TryGetValue((string)values["dataset"]!, out var dataset))
        {
            found.Add(At(ColumnOf(["dataset"]), ErrorCodes.UnknownDataset, $"variant {name}: unknown dataset '{values["dataset"]}'"
                + SettingReader.Hint(Schema.Suggest((string)values["dataset"]!, datasets.Keys)) + $" (defined: {string.Join(", ", datasets.Keys)})"));
            return (null, found);
        }
        values["seeds"] = (values["seeds"] as IReadOnlyList<long>)?.ToArray();
        values["tags"] = ((IReadOnlyList<string>)values["tags"]!).ToArray();
        var variant = Schema.ToSpec(name, parent.Line, dataset, values);
        foreach (var (rule, violation) in ExperimentRules.Violations(variant, baseDirectory))
            found.Add(At(ColumnOf(violation.Keys), rule.Code, $"variant {name}: {violation.Message}"));
        return (found.Count == 0 ? variant : null, found);
    }

    /// <summary>The column of the first of <paramref name="keys"/> overridden; 1 when none is.</summary>
    private int ColumnOf(IEnumerable<string> keys) =>
        keys.Select(k => items.FirstOrDefault(i => i.Spec.Key == k)).FirstOrDefault(i => i is not null)?.Column ?? 1;

    /// <summary>A value's spelling in names: canonical (invariant numbers, choice names, paths relative to experiments.yaml);
    /// text a folder or MSBuild item could not carry becomes a short hash of it.</summary>
    private string NameText(Override item)
    {
        string text = item.Value switch
        {
            null => "none",
            bool b => b ? "true" : "false",
            long l => l.ToString(CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            Enum e => Choice.Name(e),
            string s when item.Spec.Kind == SettingKind.Path && s != ModelSpec.ImageNetWeights => Path.GetRelativePath(baseDirectory, s).Replace('\\', '/'),
            string s => s,
            System.Collections.IEnumerable list => string.Join("+", list.Cast<object>().Select(o => Convert.ToString(o, CultureInfo.InvariantCulture))),
            _ => item.Value.ToString() ?? "",
        };
        return text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '+' or '-')
            ? text
            : "~" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..8];
    }

    private void Error(int column, string code, string message) => errors.Add(At(column, code, message));

    private static ConfigError At(int column, string code, string message) => new(ExperimentVariant.Origin, 1, column, code, message);
}
