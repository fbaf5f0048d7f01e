using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Repro.Config;

/// <summary>A problem in experiments.yaml, with the position editors and CI annotate.</summary>
public sealed record ConfigError(string File, int Line, int Column, string Code, string Message)
{
    public override string ToString() => $"{File}({Line},{Column}): error {Code}: {Message}";
}

/// <summary>experiments.yaml, validated: every error in the file is collected before anything runs.</summary>
public sealed class ExperimentsFile
{
    private ExperimentsFile(string path, IReadOnlyDictionary<string, DatasetSpec> datasets, IReadOnlyList<ExperimentSpec> experiments, IReadOnlyList<ConfigError> errors)
    {
        Path = path;
        Datasets = datasets;
        Experiments = experiments;
        Errors = errors;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, DatasetSpec> Datasets { get; }

    public IReadOnlyList<ExperimentSpec> Experiments { get; }

    public IReadOnlyList<ConfigError> Errors { get; }

    /// <summary>Reads and validates a file; never throws for bad content (see <see cref="Errors"/>).</summary>
    public static ExperimentsFile Load(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            return Failed(full, new ConfigError(full, 0, 0, ErrorCodes.ConfigNotFound, "file not found"));
        using var reader = new StreamReader(full);
        return Parse(reader, full);
    }

    /// <summary>Parses YAML text; <paramref name="path"/> names the file in errors and anchors relative paths.</summary>
    public static ExperimentsFile Parse(TextReader text, string path)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(text);
        }
        catch (YamlException e)
        {
            return Failed(path, new ConfigError(path, (int)e.Start.Line, (int)e.Start.Column, ErrorCodes.YamlSyntax, $"YAML syntax error: {Inner(e)}"));
        }
        return new Validator(path).Run(stream);
    }

    private static string Inner(YamlException e)
    {
        // YamlDotNet prefixes messages with "(Line: …, Col: …)"; the position is reported separately.
        string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
        int close = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line", StringComparison.Ordinal) && close > 0 ? message[(close + 3)..] : message;
    }

    private static ExperimentsFile Failed(string path, ConfigError error) =>
        new(path, new Dictionary<string, DatasetSpec>(), [], [error]);

    private sealed class Validator(string path)
    {
        private readonly List<ConfigError> errors = [];
        private readonly string baseDir = System.IO.Path.GetDirectoryName(path) ?? ".";

        public ExperimentsFile Run(YamlStream stream)
        {
            var datasets = new Dictionary<string, DatasetSpec>(StringComparer.Ordinal);
            var experiments = new List<ExperimentSpec>();
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                Error(stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode, ErrorCodes.FileNotMapping, "the file must be a mapping with 'experiments:' (and optionally 'defaults:' and 'datasets:')");
                return new ExperimentsFile(path, datasets, experiments, errors);
            }

            var defaults = new Dictionary<string, object?>(StringComparer.Ordinal);
            YamlSequenceNode? experimentNodes = null;
            // "no 'experiments:' list" would only repeat an 'experiments:' already reported as not a list.
            bool experimentsNotList = false;
            foreach (var (keyNode, value) in root.Children)
            {
                if (KeyOf(keyNode) is not { } key)
                    continue;
                switch (key)
                {
                    case "defaults":
                        if (AsMapping(value, "defaults") is { } d)
                            ReadSettings(d, defaults, allowName: false);
                        break;
                    case "datasets":
                        if (AsMapping(value, "datasets") is { } ds)
                            ReadDatasets(ds, datasets);
                        break;
                    case "experiments":
                        experimentNodes = value as YamlSequenceNode;
                        experimentsNotList = experimentNodes is null;
                        if (experimentsNotList)
                            Error(value, ErrorCodes.ExperimentsNotList, "'experiments' must be a list of experiments (each item starts with '- name:')");
                        break;
                    default:
                        Unknown(keyNode, key, ["defaults", "datasets", "experiments"]);
                        break;
                }
            }
            if (experimentNodes is null)
            {
                if (!experimentsNotList)
                    Error(root, ErrorCodes.NoExperimentsList, "no 'experiments:' list");
                return new ExperimentsFile(path, datasets, experiments, errors);
            }

            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var node in experimentNodes.Children)
            {
                if (AsMapping(node, "an experiment") is not { } map)
                    continue;
                var values = new Dictionary<string, object?>(defaults, StringComparer.Ordinal);
                ReadSettings(map, values, allowName: true);
                var nameNode = map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "name" }).Value;
                if (values.GetValueOrDefault("name") is not string name || name.Length == 0)
                {
                    Error(map, ErrorCodes.ExperimentWithoutName, "an experiment needs a 'name'");
                    continue;
                }
                if (name.IndexOfAny([.. System.IO.Path.GetInvalidFileNameChars(), ';', ' ']) >= 0)
                    Error(nameNode, ErrorCodes.NameNotFolderName, $"experiment name '{name}' must be usable as a folder name (no spaces, ';' or '/')");
                if (names.TryGetValue(name, out int firstLine))
                    Error(nameNode, ErrorCodes.DuplicateName, $"duplicate experiment name '{name}' (first defined on line {firstLine})");
                else
                    names[name] = (int)map.Start.Line;

                foreach (var spec in Schema.ExperimentKeys)
                    if (!values.ContainsKey(spec.Key))
                        values[spec.Key] = spec.Default;

                var datasetNode = map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "dataset" }).Value ?? map;
                if (values["dataset"] is not string datasetName)
                {
                    Error(map, ErrorCodes.ExperimentWithoutDataset, $"experiment '{name}' needs a 'dataset' (one of: {string.Join(", ", datasets.Keys)})");
                    continue;
                }
                if (!datasets.TryGetValue(datasetName, out var dataset))
                {
                    string? hint = Schema.Suggest(datasetName, datasets.Keys);
                    Error(datasetNode, ErrorCodes.UnknownDataset, $"unknown dataset '{datasetName}'" + (hint is null ? "" : $"; did you mean '{hint}'?") + $" (defined: {string.Join(", ", datasets.Keys)})");
                    continue;
                }
                // A checkpoint under <config dir>/artifacts/ is generated on demand (the transfer twin's backbones,
                // scripts/pretrain-twin-backbone.py): a fresh checkout lacks it, which must not fail every other experiment.
                if (values["pretrained"] is string weights && weights != ModelSpec.ImageNetWeights && !File.Exists(weights)
                    && !weights.StartsWith(System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, "artifacts")) + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    var node2 = map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "pretrained" }).Value ?? map;
                    Error(node2, ErrorCodes.PretrainedNotFound, $"pretrained weights not found: {weights}");
                }
                // LibTorch would only fail inside training ("Output size is too small"), without naming the setting.
                if (values["model"] is ModelKind model && values["crop"] is long crop
                    && ModelInput.Collapse(model, (int)crop) is { } collapse)
                {
                    var cropNode = map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "crop" }).Value
                        ?? map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "model" }).Value ?? map;
                    Error(cropNode, ErrorCodes.CropBelowModelMinimum,
                        $"crop {crop} is too small for {Choice.Name(model)} (minimum {ModelInput.MinimumCrop(model)}): its feature map would be empty after " +
                        $"'{collapse.Layer.Name}' ({collapse.Layer.Kernel}x{collapse.Layer.Kernel}, stride {collapse.Layer.Stride}, padding {collapse.Layer.Padding}; " +
                        $"{collapse.Input}x{collapse.Input} in)");
                }
                // The tutorial-faithful switches only mean something with what they change; set alone they would silently do nothing.
                if (values["frozen_bn_train"] is true && values["freeze"] is not FreezeMode.Backbone)
                    Error(NodeOf(map, "frozen_bn_train"), ErrorCodes.SwitchWithoutItsSetting, "'frozen_bn_train' needs 'freeze: backbone' (it leaves a frozen backbone's BatchNorm layers in training mode)");
                if (values["load_nonstrict"] is true && values["pretrained"] is null)
                    Error(NodeOf(map, "load_nonstrict"), ErrorCodes.SwitchWithoutItsSetting, "'load_nonstrict' needs 'pretrained' (it changes how pretrained weights load)");
                if (values["test_augment"] is true && values["augment"] is false)
                    Error(NodeOf(map, "test_augment"), ErrorCodes.SwitchWithoutItsSetting, "'test_augment' needs 'augment: true' (it tests with the training transform, which is the evaluation one without augment)");
                if (values["numerics"] is NumericsMode.Portable && values["device"] is DeviceChoice device and not DeviceChoice.Cpu)
                    Error(NodeOf(map, "numerics"), ErrorCodes.PortableNeedsCpu,
                        $"'numerics: portable' needs 'device: cpu' (it pins the CPU's kernels; CUDA results depend on the GPU), not '{Choice.Name(device)}'");
                if (values["tutorial"] is string { Length: > 0 } tutorial && TutorialFigure.Find(tutorial) is null)
                {
                    var tutorialNode = map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "tutorial" }).Value ?? map;
                    string? hint = Schema.Suggest(tutorial, TutorialFigure.All.Select(t => t.Key));
                    Error(tutorialNode, ErrorCodes.UnknownTutorial, $"unknown tutorial result '{tutorial}'" + (hint is null ? "" : $"; did you mean '{hint}'?") + $" (known: {string.Join(", ", TutorialFigure.All.Select(t => t.Key))})");
                }
                experiments.Add(Schema.ToSpec(name, (int)map.Start.Line, dataset, values));
            }
            return new ExperimentsFile(path, datasets, experiments, errors);
        }

        private void ReadDatasets(YamlMappingNode map, Dictionary<string, DatasetSpec> datasets)
        {
            foreach (var (keyNode, value) in map.Children)
            {
                if (KeyOf(keyNode) is not { } name)
                    continue;
                if (AsMapping(value, $"dataset '{name}'") is not { } entry)
                    continue;
                var values = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, v) in entry.Children)
                {
                    if (KeyOf(k) is not { } key)
                        continue;
                    if (Schema.FindDatasetKey(key) is not { } spec)
                    {
                        Unknown(k, key, Schema.DatasetKeys.Select(s => s.Key));
                        continue;
                    }
                    values[key] = ReadValue(spec, v);
                }
                if (values.GetValueOrDefault("kind") is not DatasetKind kind)
                {
                    Error(entry, ErrorCodes.DatasetWithoutKind, $"dataset '{name}' needs a 'kind' ({string.Join(", ", Schema.FindDatasetKey("kind")!.Choices!)})");
                    continue;
                }
                if (values.GetValueOrDefault("root") is not string root)
                {
                    Error(entry, ErrorCodes.DatasetWithoutRoot, $"dataset '{name}' needs a 'root' folder");
                    continue;
                }
                bool download = values.GetValueOrDefault("download") as bool? ?? false;
                if (!download && !Directory.Exists(root))
                {
                    var rootNode = entry.Children.First(c => c.Key is YamlScalarNode { Value: "root" }).Value;
                    Error(rootNode, ErrorCodes.DatasetFolderNotFound, $"dataset '{name}': folder not found: {root} (set 'download: true' to fetch it)");
                }
                var classes = values.GetValueOrDefault("classes") is long[] kept ? kept.Select(c => checked((int)c)).ToArray() : null;
                datasets[name] = new DatasetSpec(name, kind, root, download, values.GetValueOrDefault("skip_corrupt") as bool? ?? false, (int)entry.Start.Line, classes);
            }
        }

        /// <summary>The value node of <paramref name="key"/> in <paramref name="map"/>, or the map itself when the key came from defaults.</summary>
        private static YamlNode NodeOf(YamlMappingNode map, string key) =>
            map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: { } k } && k == key).Value ?? map;

        private void ReadSettings(YamlMappingNode map, Dictionary<string, object?> values, bool allowName)
        {
            foreach (var (keyNode, value) in map.Children)
            {
                if (KeyOf(keyNode) is not { } key)
                    continue;
                var spec = Schema.FindExperimentKey(key);
                if (spec is null || (!allowName && key == "name"))
                {
                    Unknown(keyNode, key, Schema.ExperimentKeys.Select(s => s.Key).Where(k => allowName || k != "name"));
                    continue;
                }
                values[key] = ReadValue(spec, value);
            }
        }

        private object? ReadValue(SettingSpec spec, YamlNode node)
        {
            if (spec.Kind == SettingKind.StringList)
            {
                if (node is YamlSequenceNode seq && seq.Children.All(c => c is YamlScalarNode))
                    return seq.Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToArray();
                if (node is YamlScalarNode one && !string.IsNullOrEmpty(one.Value))
                    return new[] { one.Value };
                Error(node, ErrorCodes.NotStringList, $"'{spec.Key}' must be a list of strings");
                return spec.Default;
            }
            if (spec.Kind == SettingKind.Seeds)
                return ReadSeeds(spec, node);
            if (spec.Kind == SettingKind.IntList)
                return ReadIntList(spec, node);
            if (node is not YamlScalarNode scalar)
            {
                Error(node, ErrorCodes.NotSingleValue, $"'{spec.Key}' must be a single value, not a {(node is YamlSequenceNode ? "list" : "mapping")}");
                return spec.Default;
            }
            string text = scalar.Value ?? "";
            bool isNull = scalar.Style == ScalarStyle.Plain && (text is "" or "~" or "null" or "none");
            switch (spec.Kind)
            {
                case SettingKind.Int:
                    if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long i))
                        return InRange(spec, node, i) ? i : spec.Default;
                    return TypeError(spec, node, text, "a whole number");
                case SettingKind.Number:
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d))
                        return InRange(spec, node, d) ? d : spec.Default;
                    return TypeError(spec, node, text, "a number");
                case SettingKind.Bool:
                    if (text is "true" or "True" or "false" or "False")
                        return text is "true" or "True";
                    return TypeError(spec, node, text, "true or false");
                case SettingKind.Choice:
                    if (Choice.Parse(spec.ChoiceType!, text) is { } choice)
                        return choice;
                    string? hint = Schema.Suggest(text, spec.Choices!);
                    Error(node, ErrorCodes.NotAChoice, $"'{spec.Key}' must be one of {string.Join(", ", spec.Choices!)}, not '{text}'" + (hint is null ? "" : $"; did you mean '{hint}'?"));
                    return spec.Default;
                case SettingKind.Split:
                    if (text == "official")
                        return text;
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double f))
                    {
                        if (f > 0 && f < 1)
                            return f;
                        Error(node, ErrorCodes.SplitOutOfRange, $"'split' must be between 0 and 1 (exclusive), not {text}");
                        return spec.Default;
                    }
                    return TypeError(spec, node, text, "'official' or a fraction such as 0.1");
                case SettingKind.Path:
                    if (isNull)
                        return null;
                    if (spec.Key == "pretrained" && text == ModelSpec.ImageNetWeights)
                        return text;
                    return System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, text));
                default:
                    return isNull ? null : text;
            }
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
            {
                Error(node, ErrorCodes.BadSeeds, $"'{spec.Key}' must be a count such as 5 or a non-empty list of seeds such as [1, 2, 3]");
                return spec.Default;
            }
            var seeds = new List<long>();
            foreach (var item in list.Children)
            {
                if (item is not YamlScalarNode { Value: { } s } || !long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seed) || seed < 0 || seed > int.MaxValue)
                {
                    Error(item, ErrorCodes.BadSeeds, $"'{spec.Key}' must list whole numbers between 0 and {int.MaxValue}");
                    return spec.Default;
                }
                if (seeds.Contains(seed))
                {
                    Error(item, ErrorCodes.BadSeeds, $"seed {seed} is listed twice in '{spec.Key}'");
                    return spec.Default;
                }
                seeds.Add(seed);
            }
            return seeds.ToArray();
        }

        /// <summary>A non-empty list of distinct whole numbers within the spec's range (<c>classes: [5, 6, 7]</c>), as <c>long[]</c>.</summary>
        private object? ReadIntList(SettingSpec spec, YamlNode node)
        {
            if (node is not YamlSequenceNode list || list.Children.Count == 0)
            {
                Error(node, ErrorCodes.BadIntList, $"'{spec.Key}' must be a non-empty list of whole numbers such as [5, 6, 7]");
                return spec.Default;
            }
            var items = new List<long>();
            foreach (var item in list.Children)
            {
                if (item is not YamlScalarNode { Value: { } s } || !long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
                {
                    Error(item, ErrorCodes.BadIntList, $"'{spec.Key}' must list whole numbers");
                    return spec.Default;
                }
                if (!InRange(spec, item, value))
                    return spec.Default;
                if (items.Contains(value))
                {
                    Error(item, ErrorCodes.BadIntList, $"{value} is listed twice in '{spec.Key}'");
                    return spec.Default;
                }
                items.Add(value);
            }
            return items.ToArray();
        }

        private bool InRange(SettingSpec spec, YamlNode node, double value)
        {
            if (value >= spec.Min && value <= spec.Max)
                return true;
            string max = spec.Max == double.MaxValue ? "" : $" and {spec.Max.ToString(CultureInfo.InvariantCulture)}";
            Error(node, ErrorCodes.OutOfRange, $"'{spec.Key}' must be between {spec.Min.ToString(CultureInfo.InvariantCulture)}{max}, not {value.ToString(CultureInfo.InvariantCulture)}");
            return false;
        }

        private object? TypeError(SettingSpec spec, YamlNode node, string text, string expected)
        {
            Error(node, ErrorCodes.WrongType, $"'{spec.Key}' must be {expected}, not '{text}'");
            return spec.Default;
        }

        private YamlMappingNode? AsMapping(YamlNode node, string what)
        {
            if (node is YamlMappingNode map)
                return map;
            Error(node, ErrorCodes.NotMapping, $"{what} must be a mapping of 'key: value' lines");
            return null;
        }

        /// <summary>A mapping key as text; a list or mapping used as a key is an error rather than a crash.</summary>
        private string? KeyOf(YamlNode node)
        {
            if (node is YamlScalarNode { Value: { } key })
                return key;
            Error(node, ErrorCodes.KeyNotPlainWord, "a key must be a plain word, not a list or mapping");
            return null;
        }

        private void Unknown(YamlNode node, string key, IEnumerable<string> known)
        {
            string? hint = Schema.Suggest(key, known);
            Error(node, ErrorCodes.UnknownKey, $"unknown key '{key}'" + (hint is null ? "" : $"; did you mean '{hint}'?"));
        }

        private void Error(YamlNode? node, string code, string message) =>
            errors.Add(new ConfigError(path, node is null ? 1 : (int)node.Start.Line, node is null ? 1 : (int)node.Start.Column, code, message));
    }
}
