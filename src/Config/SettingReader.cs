using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Repro.Config;

/// <summary>
/// Reads one key's YAML value as its <see cref="SettingSpec"/> types it (long, double, bool, string, enum, list), the
/// one reader of values for experiments.yaml and for command-line overrides (-p:Set), so both report the same errors.
/// A bad value is reported through <c>report</c> (node, code, message) and read as the key's default.
/// </summary>
/// <param name="baseDirectory">Relative paths (<see cref="SettingKind.Path"/>) are resolved against it: experiments.yaml's folder.</param>
internal sealed class SettingReader(string baseDirectory, Action<YamlNode, string, string> report)
{
    /// <summary>The value of <paramref name="node"/>; <paramref name="text"/>, when given, replaces a scalar's text (a
    /// matrix template filled in) while errors still point at the node.</summary>
    public object? Read(SettingSpec spec, YamlNode node, string? text = null) => spec.Kind switch
    {
        SettingKind.StringList => ReadStringList(spec, node),
        SettingKind.Seeds => ReadSeeds(spec, node),
        SettingKind.IntList => ReadIntList(spec, node),
        _ when node is YamlScalarNode scalar => ReadScalar(spec, scalar, text ?? scalar.Value ?? ""),
        _ => Fail(spec, node, ErrorCodes.NotSingleValue, $"'{spec.Key}' must be a single value, not a {(node is YamlSequenceNode ? "list" : "mapping")}"),
    };

    private object? ReadScalar(SettingSpec spec, YamlScalarNode node, string text) => spec.Kind switch
    {
        SettingKind.Int => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long i)
            ? InRange(spec, node, i) ? i : spec.Default
            : TypeError(spec, node, text, "a whole number"),
        SettingKind.Number => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
            ? InRange(spec, node, d) ? d : spec.Default
            : TypeError(spec, node, text, "a number"),
        SettingKind.Bool => text is "true" or "True" or "false" or "False" ? text is "true" or "True" : TypeError(spec, node, text, "true or false"),
        SettingKind.Choice => ReadChoice(spec, node, text),
        SettingKind.Split => ReadSplit(spec, node, text),
        SettingKind.Path => IsNull(node, text) ? null
            : spec.Key == "pretrained" && text == ModelSpec.ImageNetWeights ? text
            : Path.GetFullPath(Path.Combine(baseDirectory, text)),
        _ => IsNull(node, text) ? null : text,
    };

    /// <summary>YAML's spellings of "no value" (plain, not quoted: <c>'none'</c> is the text none).</summary>
    private static bool IsNull(YamlScalarNode node, string text) =>
        node.Style == ScalarStyle.Plain && text is "" or "~" or "null" or "none";

    private object? ReadChoice(SettingSpec spec, YamlNode node, string text)
    {
        if (Choice.Parse(spec.ChoiceType!, text) is { } choice)
            return choice;
        string? hint = Schema.Suggest(text, spec.Choices!);
        return Fail(spec, node, ErrorCodes.NotAChoice, $"'{spec.Key}' must be one of {string.Join(", ", spec.Choices!)}, not '{text}'" + Hint(hint));
    }

    private object? ReadSplit(SettingSpec spec, YamlNode node, string text)
    {
        if (text == "official")
            return text;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double f))
            return TypeError(spec, node, text, "'official' or a fraction such as 0.1");
        return f > 0 && f < 1 ? f : Fail(spec, node, ErrorCodes.SplitOutOfRange, $"'split' must be between 0 and 1 (exclusive), not {text}");
    }

    private object? ReadStringList(SettingSpec spec, YamlNode node)
    {
        if (node is YamlSequenceNode seq && seq.Children.All(c => c is YamlScalarNode))
            return seq.Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToArray();
        if (node is YamlScalarNode one && !string.IsNullOrEmpty(one.Value))
            return new[] { one.Value };
        return Fail(spec, node, ErrorCodes.NotStringList, $"'{spec.Key}' must be a list of strings");
    }

    /// <summary><c>seeds: 5</c> (seeds 1..5) or <c>seeds: [1, 2, 7]</c>: distinct whole numbers, as <c>long[]</c>.</summary>
    private object? ReadSeeds(SettingSpec spec, YamlNode node)
    {
        if (node is YamlScalarNode { Value: { } text })
        {
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long count))
                return TypeError(spec, node, text, "a count of seeds such as 5, or a list such as [1, 2, 3]");
            return InRange(spec, node, count) ? Enumerable.Range(1, (int)count).Select(i => (long)i).ToArray() : spec.Default;
        }
        if (node is not YamlSequenceNode list || list.Children.Count == 0)
            return Fail(spec, node, ErrorCodes.BadSeeds, $"'{spec.Key}' must be a count such as 5 or a non-empty list of seeds such as [1, 2, 3]");
        var seeds = new List<long>();
        foreach (var item in list.Children)
        {
            if (item is not YamlScalarNode { Value: { } s } || !long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seed) || seed < 0 || seed > int.MaxValue)
                return Fail(spec, item, ErrorCodes.BadSeeds, $"'{spec.Key}' must list whole numbers between 0 and {int.MaxValue}");
            if (seeds.Contains(seed))
                return Fail(spec, item, ErrorCodes.BadSeeds, $"seed {seed} is listed twice in '{spec.Key}'");
            seeds.Add(seed);
        }
        return seeds.ToArray();
    }

    /// <summary>A non-empty list of distinct whole numbers within the spec's range (<c>classes: [5, 6, 7]</c>), as <c>long[]</c>.</summary>
    private object? ReadIntList(SettingSpec spec, YamlNode node)
    {
        if (node is not YamlSequenceNode list || list.Children.Count == 0)
            return Fail(spec, node, ErrorCodes.BadIntList, $"'{spec.Key}' must be a non-empty list of whole numbers such as [5, 6, 7]");
        var items = new List<long>();
        foreach (var item in list.Children)
        {
            if (item is not YamlScalarNode { Value: { } s } || !long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
                return Fail(spec, item, ErrorCodes.BadIntList, $"'{spec.Key}' must list whole numbers");
            if (!InRange(spec, item, value))
                return spec.Default;
            if (items.Contains(value))
                return Fail(spec, item, ErrorCodes.BadIntList, $"{value} is listed twice in '{spec.Key}'");
            items.Add(value);
        }
        return items.ToArray();
    }

    private bool InRange(SettingSpec spec, YamlNode node, double value)
    {
        if (value >= spec.Min && value <= spec.Max)
            return true;
        string max = spec.Max == double.MaxValue ? "" : $" and {spec.Max.ToString(CultureInfo.InvariantCulture)}";
        report(node, ErrorCodes.OutOfRange, $"'{spec.Key}' must be between {spec.Min.ToString(CultureInfo.InvariantCulture)}{max}, not {value.ToString(CultureInfo.InvariantCulture)}");
        return false;
    }

    private object? TypeError(SettingSpec spec, YamlNode node, string text, string expected) =>
        Fail(spec, node, ErrorCodes.WrongType, $"'{spec.Key}' must be {expected}, not '{text}'");

    /// <summary>Reports the problem and reads the key as its default, so that validation goes on to find the others.</summary>
    private object? Fail(SettingSpec spec, YamlNode node, string code, string message)
    {
        report(node, code, message);
        return spec.Default;
    }

    internal static string Hint(string? suggestion) => suggestion is null ? "" : $"; did you mean '{suggestion}'?";
}
