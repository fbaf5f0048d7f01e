using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Repro.Config;

/// <summary>
/// An experiment entry with <c>matrix:</c>: one experiment per combination of its axes' values, each combination's keys
/// layered as shared keys, then each axis's value, then <c>include:</c> keys (a later layer wins), with <c>{axis}</c> in
/// the name and in text values (string and path keys) replaced by the combination's value of that axis.
/// </summary>
/// <remarks>
/// An axis is an experiment key with a list of its values (<c>model: [resnet50, densenet121]</c>), or a label of the
/// user's choosing with a mapping from each value's label to the keys it sets (<c>variant: {"": {}, -bn-train:
/// {frozen_bn_train: true}}</c>). Combinations run in order, the first axis outermost. <c>exclude:</c> items drop the
/// combinations whose axes have all the item's values; then each <c>include:</c> item adds its other keys to every
/// combination with all its axis values, or, when it matches none, adds a combination of its own, which must then give
/// every axis (as GitHub Actions' matrix does). Naming is DVC's (scalar values by their text; iterative/dvc#9725) with a
/// template as in iterative/dvc#10904, here required so that names stay readable and stable.
/// </remarks>
internal sealed partial class ExperimentMatrix(YamlMappingNode entry, YamlChecks checks)
{
    /// <summary>One combination: its description for error messages, and its keys in layer order.</summary>
    public sealed record Combination(string Context, IReadOnlyList<WrittenKey> Keys);

    /// <summary>One value of an axis: its label (the text templates and include/exclude items use) and the keys it sets.</summary>
    private sealed record AxisValue(string Label, IReadOnlyList<WrittenKey> Keys);

    /// <param name="Labelled">Whether the axis is a label with labelled settings rather than an experiment key.</param>
    private sealed record Axis(string Key, bool Labelled, IReadOnlyList<AxisValue> Values);

    /// <summary>A combination being built: one value per axis (in axis order) and the keys include items add.</summary>
    private sealed record Pick(IReadOnlyList<AxisValue> Values, List<WrittenKey> Extra);

    [GeneratedRegex(@"\{(?<key>[A-Za-z0-9_]+)\}")]
    private static partial Regex Template();

    private readonly List<Axis> axes = [];

    /// <summary>The combinations of <paramref name="entry"/>; none when the matrix itself has errors (reported).</summary>
    public static IReadOnlyList<Combination> Expand(YamlMappingNode entry, YamlChecks checks) => new ExperimentMatrix(entry, checks).Expand();

    private IReadOnlyList<Combination> Expand()
    {
        var keys = checks.KeysOf(entry);
        var shared = keys.Where(k => !YamlChecks.MatrixKeys.Contains(k.Key)).ToList();
        if (!shared.Any(k => k.Key == "name"))
        {
            checks.Error(entry, ErrorCodes.ExperimentWithoutName, "a matrix entry needs a 'name' template naming its axes, such as \"{dataset}-{model}\"");
            return [];
        }
        if (!ReadAxes(keys.First(k => k.Key == "matrix").Value))
            return [];
        var choices = Exclude(Product(), keys.FirstOrDefault(k => k.Key == "exclude")?.Value);
        Include(choices, keys.FirstOrDefault(k => k.Key == "include")?.Value);
        var all = shared.Concat(axes.SelectMany(a => a.Values.SelectMany(v => v.Keys))).Concat(choices.SelectMany(c => c.Extra));
        if (!TemplatesNameAxes(all))
            return [];
        return [.. choices.Select(c => new Combination(Describe(c), [.. shared.Concat(c.Values.SelectMany(v => v.Keys)).Concat(c.Extra).Select(k => Fill(k, c))]))];
    }

    /// <summary>Reads the axes; false (reported) when the matrix has none or one is malformed.</summary>
    private bool ReadAxes(YamlNode node)
    {
        if (checks.AsMapping(node, "'matrix'") is not { } matrix)
            return false;
        bool ok = true;
        foreach (var (key, keyNode, value, _) in checks.KeysOf(matrix))
        {
            bool isKey = Schema.FindExperimentKey(key) is { Key: not "name" };
            var values = isKey ? KeyAxis(key, value)
                : value is YamlMappingNode labelled && Schema.FindExperimentKey(key) is null ? LabelledAxis(key, labelled)
                : UnknownAxis(key, keyNode);
            if (values is null)
                ok = false;
            else
                axes.Add(new Axis(key, !isKey, values));
        }
        if (matrix.Children.Count == 0)
            checks.Error(matrix, ErrorCodes.MatrixAxisEmpty, "'matrix' needs at least one axis, such as 'model: [resnet50, densenet121]'");
        return ok && axes.Count > 0;
    }

    /// <summary>An experiment key's values: <c>model: [resnet50, densenet121]</c>.</summary>
    private List<AxisValue>? KeyAxis(string key, YamlNode node)
    {
        if (node is YamlSequenceNode { Children.Count: > 0 } list)
            return [.. list.Children.Select((item, i) => new AxisValue(Label(item, key, i), [new WrittenKey(key, item, item)]))];
        checks.Error(node, ErrorCodes.MatrixAxisEmpty, node is YamlSequenceNode
            ? $"axis '{key}' is empty: list at least one value"
            : $"axis '{key}' must be a list of its values, such as [{string.Join(", ", Schema.FindExperimentKey(key)!.Choices?.Take(2) ?? ["a", "b"])}]");
        return null;
    }

    /// <summary>A labelled axis: each label sets the keys of its mapping (<c>-bn-train: {frozen_bn_train: true}</c>).</summary>
    private List<AxisValue>? LabelledAxis(string key, YamlMappingNode node)
    {
        var values = new List<AxisValue>();
        foreach (var (label, _, settings, _) in checks.KeysOf(node))
            if (checks.AsMapping(settings, $"the keys of '{key}: {label}'") is { } map)
                values.Add(new AxisValue(label, checks.KeysOf(map)));
        if (values.Count == 0)
            checks.Error(node, ErrorCodes.MatrixAxisEmpty, $"axis '{key}' is empty: give at least one label with the keys it sets");
        return values.Count == 0 ? null : values;
    }

    private List<AxisValue>? UnknownAxis(string key, YamlNode keyNode)
    {
        checks.Error(keyNode, ErrorCodes.UnknownKey, $"unknown axis key '{key}'" + SettingReader.Hint(Schema.Suggest(key, Schema.ExperimentKeys.Select(k => k.Key).Where(k => k != "name")))
            + " (an axis is an experiment key with a list of its values, or a label of your choosing with a mapping of labelled settings)");
        return null;
    }

    /// <summary>A value's label: its text; a list or mapping (no text) is named by its axis and index, as DVC does.</summary>
    private static string Label(YamlNode item, string key, int index) => item is YamlScalarNode { Value: { } text } ? text : $"{key}{index}";

    private List<Pick> Product()
    {
        IEnumerable<IReadOnlyList<AxisValue>> product = [[]];
        foreach (var axis in axes)
            product = product.SelectMany(prefix => axis.Values.Select(v => (IReadOnlyList<AxisValue>)[.. prefix, v]));
        return [.. product.Select(values => new Pick(values, []))];
    }

    /// <summary>Whether <paramref name="choice"/> has every axis value <paramref name="item"/> names (its other keys aside).</summary>
    private bool Matches(Pick choice, YamlMappingNode item) =>
        checks.KeysOf(item).All(k => axes.FindIndex(a => a.Key == k.Key) is var i && (i < 0 || k.Value is YamlScalarNode { Value: { } v } && choice.Values[i].Label == v));

    private List<Pick> Exclude(List<Pick> choices, YamlNode? node)
    {
        foreach (var item in Items(node, "exclude"))
        {
            var notAxes = checks.KeysOf(item).Where(k => axes.All(a => a.Key != k.Key)).ToList();
            foreach (var (key, keyNode, _, _) in notAxes)
                checks.Error(keyNode, ErrorCodes.NotAnAxis, $"'exclude' names '{key}', which is not an axis of this matrix (axes: {string.Join(", ", axes.Select(a => a.Key))})");
            if (notAxes.Count == 0 && choices.RemoveAll(c => Matches(c, item)) == 0)
                checks.Error(item, ErrorCodes.ExcludeMatchesNothing, "this 'exclude' item matches no combination of the matrix (check its values against the axes')");
        }
        return choices;
    }

    private void Include(List<Pick> choices, YamlNode? node)
    {
        foreach (var item in Items(node, "include"))
        {
            var keys = checks.KeysOf(item);
            var extra = keys.Where(k => axes.All(a => a.Key != k.Key)).ToList();
            var matched = choices.Where(c => Matches(c, item)).ToList();
            foreach (var choice in matched)
                choice.Extra.AddRange(extra);
            if (matched.Count == 0 && NewPick(item, keys) is { } added)
                choices.Add(added with { Extra = extra });
        }
    }

    /// <summary>The combination an include item adds when it matches none: it must give every axis a value (or a known label).</summary>
    private Pick? NewPick(YamlMappingNode item, IReadOnlyList<WrittenKey> keys)
    {
        var values = new List<AxisValue>();
        foreach (var axis in axes)
        {
            var given = keys.FirstOrDefault(k => k.Key == axis.Key);
            var value = given is null ? null
                : !axis.Labelled ? new AxisValue(Label(given.Value, axis.Key, 0), [given])
                : axis.Values.FirstOrDefault(v => given.Value is YamlScalarNode { Value: { } label } && v.Label == label);
            if (value is null)
            {
                checks.Error(given?.Value ?? item, ErrorCodes.IncludeIncomplete, given is null
                    ? $"this 'include' item matches no combination, so it adds one, which needs a value for every axis: '{axis.Key}' is missing"
                    : $"this 'include' item gives '{axis.Key}' a label it does not have (labels: {string.Join(", ", axis.Values.Select(v => Show(v.Label)))})");
                return null;
            }
            values.Add(value);
        }
        return new Pick(values, []);
    }

    /// <summary>The mappings of an include or exclude list.</summary>
    private IEnumerable<YamlMappingNode> Items(YamlNode? node, string key)
    {
        if (node is null)
            return [];
        if (node is YamlSequenceNode list)
            return list.Children.Select(item => checks.AsMapping(item, $"an '{key}' item")).OfType<YamlMappingNode>().ToList();
        checks.Error(node, ErrorCodes.NotMapping, $"'{key}' must be a list of mappings, such as [{{dataset: cifar10, split: official}}]");
        return [];
    }

    /// <summary>Whether every <c>{key}</c> in a text value names an axis (each one that does not is reported).</summary>
    private bool TemplatesNameAxes(IEnumerable<WrittenKey> keys)
    {
        bool ok = true;
        foreach (var written in keys.Where(IsTemplated))
            foreach (Match m in Template().Matches(((YamlScalarNode)written.Value).Value!))
                if (axes.All(a => a.Key != m.Groups["key"].Value))
                {
                    ok = false;
                    checks.Error(written.Value, ErrorCodes.TemplateKeyNotAxis,
                        $"'{m.Value}' in '{written.Key}' is not an axis of this matrix (axes: {string.Join(", ", axes.Select(a => a.Key))})");
                }
        return ok;
    }

    private static bool IsTemplated(WrittenKey key) =>
        key.Value is YamlScalarNode { Value: { } text } && text.Contains('{', StringComparison.Ordinal)
        && (key.Key == "name" || Schema.FindExperimentKey(key.Key)?.Kind is SettingKind.String or SettingKind.Path);

    private WrittenKey Fill(WrittenKey key, Pick choice) =>
        IsTemplated(key)
            ? key with { Text = Template().Replace(((YamlScalarNode)key.Value).Value!, m => choice.Values[axes.FindIndex(a => a.Key == m.Groups["key"].Value)].Label) }
            : key;

    /// <summary>"matrix combination dataset=flower, model=resnet50: ", the prefix of this combination's errors.</summary>
    private string Describe(Pick choice) =>
        "matrix combination " + string.Join(", ", axes.Select((a, i) => $"{a.Key}={Show(choice.Values[i].Label)}")) + ": ";

    private static string Show(string label) => label.Length == 0 ? "\"\"" : label;
}
