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

    /// <summary>
    /// The walk over the file: sections, datasets, then each experiment entry (a matrix entry gives one per combination):
    /// its keys (through <see cref="SettingReader"/>), name, dataset and the cross-field <see cref="ExperimentRules"/>.
    /// Every error is collected; none stops the walk.
    /// </summary>
    private sealed class Validator
    {
        private static readonly string[] Sections = ["defaults", "datasets", "experiments"];

        /// <summary>What <c>defaults:</c> may set: every experiment key but the name.</summary>
        private static readonly IReadOnlyList<SettingSpec> DefaultKeys = [.. Schema.ExperimentKeys.Where(k => k.Key != "name")];

        private static readonly char[] NotInNames = [.. System.IO.Path.GetInvalidFileNameChars(), ';', ' '];

        private readonly string baseDir;
        private readonly YamlChecks checks;
        private readonly SettingReader reader;
        private readonly Dictionary<string, object?> defaults = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DatasetSpec> datasets = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> names = new(StringComparer.Ordinal);
        private readonly List<ExperimentSpec> experiments = [];

        public Validator(string path)
        {
            baseDir = System.IO.Path.GetDirectoryName(path) ?? ".";
            checks = new YamlChecks(path);
            reader = new SettingReader(baseDir, checks.Error);
        }

        public ExperimentsFile Run(YamlStream stream)
        {
            if (Root(stream) is { } root && ReadSections(root) is { } list)
                foreach (var node in list.Children)
                    if (checks.AsMapping(node, "an experiment") is { } map)
                        AddEntry(map);
            return new ExperimentsFile(checks.Path, datasets, experiments, checks.Errors);
        }

        private void AddEntry(YamlMappingNode map)
        {
            if (ExperimentEntry.ValueOf(map, "matrix") is null)
                Add(Entry(map, checks.KeysOf(map), ""));
            else
                foreach (var combination in ExperimentMatrix.Expand(map, checks))
                    Add(Entry(map, combination.Keys, combination.Context));
        }

        private YamlMappingNode? Root(YamlStream stream)
        {
            var node = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
            if (node is YamlMappingNode root)
                return root;
            checks.Error(node, ErrorCodes.FileNotMapping, "the file must be a mapping with 'experiments:' (and optionally 'defaults:' and 'datasets:')");
            return null;
        }

        /// <summary>Reads <c>defaults:</c> and <c>datasets:</c>; returns the <c>experiments:</c> list, or null (reported).</summary>
        private YamlSequenceNode? ReadSections(YamlMappingNode root)
        {
            YamlSequenceNode? list = null;
            // "no 'experiments:' list" would only repeat an 'experiments:' already reported as not a list.
            bool notList = false;
            foreach (var (key, keyNode, value, _) in checks.KeysOf(root))
            {
                switch (key)
                {
                    case "defaults":
                        if (checks.AsMapping(value, "defaults") is { } d)
                            ReadSettings(d, defaults, DefaultKeys);
                        break;
                    case "datasets":
                        if (checks.AsMapping(value, "datasets") is { } ds)
                            ReadDatasets(ds);
                        break;
                    case "experiments":
                        list = value as YamlSequenceNode;
                        if (notList = list is null)
                            checks.Error(value, ErrorCodes.ExperimentsNotList, "'experiments' must be a list of experiments (each item starts with '- name:')");
                        break;
                    default:
                        checks.Unknown(keyNode, key, Sections);
                        break;
                }
            }
            if (list is null && !notList)
                checks.Error(root, ErrorCodes.NoExperimentsList, "no 'experiments:' list");
            return list;
        }

        /// <summary>An experiment's values: <c>defaults:</c>, then <paramref name="keys"/> in order (a later one wins).</summary>
        private ExperimentEntry Entry(YamlNode node, IReadOnlyList<WrittenKey> keys, string context)
        {
            var values = new Dictionary<string, object?>(defaults, StringComparer.Ordinal);
            foreach (var written in keys)
            {
                if (Schema.FindExperimentKey(written.Key) is { } spec)
                    values[written.Key] = reader.Read(spec, written.Value, written.Text);
                else
                    checks.Unknown(written.KeyNode, written.Key, Schema.ExperimentKeys.Select(k => k.Key));
            }
            return new ExperimentEntry(node, values, key => keys.LastOrDefault(k => k.Key == key)?.Value, context);
        }

        /// <summary>Checks an entry's name, dataset and cross-field rules; adds its spec unless its name or dataset is missing.</summary>
        private void Add(ExperimentEntry entry)
        {
            if (NameOf(entry) is not { } name)
                return;
            foreach (var spec in Schema.ExperimentKeys)
                entry.Values.TryAdd(spec.Key, spec.Default);
            if (DatasetOf(entry, name) is not { } dataset)
                return;
            var experiment = Schema.ToSpec(name, entry.Line, dataset, entry.Values);
            foreach (var (rule, violation) in ExperimentRules.Violations(experiment, baseDir))
                checks.Error(entry.NodeOf(violation.Keys), rule.Code, entry.Context + violation.Message);
            experiments.Add(experiment);
        }

        private string? NameOf(ExperimentEntry entry)
        {
            if (entry.Values.GetValueOrDefault("name") is not string name || name.Length == 0)
            {
                checks.Error(entry.Node, ErrorCodes.ExperimentWithoutName, entry.Context + "an experiment needs a 'name'");
                return null;
            }
            var nameNode = entry.NodeOf(["name"]);
            if (name.IndexOfAny(NotInNames) >= 0)
                checks.Error(nameNode, ErrorCodes.NameNotFolderName, $"{entry.Context}experiment name '{name}' must be usable as a folder name (no spaces, ';' or '/')");
            else if (ExperimentVariant.IsVariant(name))
                checks.Error(nameNode, ErrorCodes.NameNotFolderName, $"{entry.Context}experiment name '{name}' must not contain '{ExperimentVariant.Separator}', which names command-line variants (<experiment>@<key>=<value>,…)");
            if (names.TryGetValue(name, out int firstLine))
                checks.Error(nameNode, ErrorCodes.DuplicateName, $"{entry.Context}duplicate experiment name '{name}' (first defined on line {firstLine})");
            else
                names[name] = entry.Line;
            return name;
        }

        private DatasetSpec? DatasetOf(ExperimentEntry entry, string name)
        {
            if (entry.Values["dataset"] is not string datasetName)
            {
                checks.Error(entry.Node, ErrorCodes.ExperimentWithoutDataset, $"{entry.Context}experiment '{name}' needs a 'dataset' (one of: {string.Join(", ", datasets.Keys)})");
                return null;
            }
            if (datasets.TryGetValue(datasetName, out var dataset))
                return dataset;
            checks.Error(entry.NodeOf(["dataset"]), ErrorCodes.UnknownDataset, $"{entry.Context}unknown dataset '{datasetName}'"
                + SettingReader.Hint(Schema.Suggest(datasetName, datasets.Keys)) + $" (defined: {string.Join(", ", datasets.Keys)})");
            return null;
        }

        private void ReadDatasets(YamlMappingNode map)
        {
            foreach (var (name, _, value, _) in checks.KeysOf(map))
                if (checks.AsMapping(value, $"dataset '{name}'") is { } entry && ReadDataset(name, entry) is { } dataset)
                    datasets[name] = dataset;
        }

        private DatasetSpec? ReadDataset(string name, YamlMappingNode entry)
        {
            var values = ReadSettings(entry, new Dictionary<string, object?>(StringComparer.Ordinal), Schema.DatasetKeys);
            if (values.GetValueOrDefault("kind") is not DatasetKind kind)
            {
                checks.Error(entry, ErrorCodes.DatasetWithoutKind, $"dataset '{name}' needs a 'kind' ({string.Join(", ", Schema.FindDatasetKey("kind")!.Choices!)})");
                return null;
            }
            if (values.GetValueOrDefault("root") is not string root)
            {
                checks.Error(entry, ErrorCodes.DatasetWithoutRoot, $"dataset '{name}' needs a 'root' folder");
                return null;
            }
            bool download = values.GetValueOrDefault("download") as bool? ?? false;
            if (!download && !Directory.Exists(root))
                checks.Error(ExperimentEntry.ValueOf(entry, "root"), ErrorCodes.DatasetFolderNotFound, $"dataset '{name}': folder not found: {root} (set 'download: true' to fetch it)");
            var classes = values.GetValueOrDefault("classes") is long[] kept ? kept.Select(c => checked((int)c)).ToArray() : null;
            return new DatasetSpec(name, kind, root, download, values.GetValueOrDefault("skip_corrupt") as bool? ?? false, (int)entry.Start.Line, classes);
        }

        /// <summary>Reads every key of <paramref name="map"/> that <paramref name="keys"/> declares into <paramref name="values"/>; reports the others.</summary>
        private Dictionary<string, object?> ReadSettings(YamlMappingNode map, Dictionary<string, object?> values, IReadOnlyList<SettingSpec> keys)
        {
            foreach (var (key, keyNode, value, _) in checks.KeysOf(map))
            {
                if (keys.FirstOrDefault(s => s.Key == key) is { } spec)
                    values[key] = reader.Read(spec, value);
                else
                    checks.Unknown(keyNode, key, keys.Select(s => s.Key));
            }
            return values;
        }
    }
}
