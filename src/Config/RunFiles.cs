using System.Text.Json;
using System.Text.Json.Serialization;

namespace Repro.Config;

/// <summary>One epoch of training: a line of history.csv. Timings and resident memory vary between runs; the rest is reproducible.</summary>
public sealed record EpochRecord(
    int Epoch,
    double TrainLoss,
    double TrainAccuracy,
    double ValidationLoss,
    double ValidationAccuracy,
    double LearningRate,
    double Seconds,
    double ImagesPerSecond,
    double ResidentMegabytes = 0);

/// <summary>What the train stage leaves for the test stage and the build (training.json).</summary>
/// <param name="Config">The train fingerprint of the settings it trained with.</param>
/// <param name="Data">The split manifest's hash.</param>
/// <param name="Path">How batches went through the network (for the report).</param>
/// <param name="Seconds">The whole training's time, resumed epochs included.</param>
public sealed record TrainingRecord(string Config, string Data, string Path, double Seconds, IReadOnlyList<EpochRecord> History);

/// <summary>What a checkpoint was trained from; a checkpoint resumes only under the same key.</summary>
/// <param name="Config">The train fingerprint of the settings.</param>
/// <param name="Data">The split manifest's hash (the images and how they are split).</param>
/// <param name="Weights">The pretrained checkpoint's hash; empty without one.</param>
/// <param name="Code">The code that trains (the core's assemblies and TorchSharp's version).</param>
public sealed record CheckpointKey(string Config, string Data, string Weights, string Code);

/// <summary>A checkpoint's commit record (checkpoint/state.json): what it was trained from and its complete epochs.</summary>
public sealed record CheckpointState(CheckpointKey Key, int Epoch, IReadOnlyList<EpochRecord> History);

/// <summary>
/// A run as the build scheduled it (stamps/run.json): the typed spec with the run's seed, where its files go and the
/// experiments.yaml it came from. The contract between the build and the host: the host runs a stage from this file
/// and never parses the YAML again, so the two cannot disagree on a setting.
/// </summary>
/// <param name="ConfigFile">experiments.yaml, absolute: relative paths in fingerprints are relative to its folder.</param>
/// <param name="ExperimentDirectory">See <see cref="ExperimentLayout.ExperimentDirectory"/>.</param>
/// <param name="RunDirectory">See <see cref="ExperimentLayout.Directory"/>.</param>
public sealed record ScheduledRun(string ConfigFile, string ExperimentDirectory, string RunDirectory, ExperimentSpec Spec)
{
    /// <summary>Where the run's files go.</summary>
    [JsonIgnore]
    public ExperimentLayout Layout => new(ExperimentDirectory, RunDirectory);

    /// <summary>The folder of experiments.yaml: fingerprints write paths relative to it, and reports read git there.</summary>
    [JsonIgnore]
    public string BaseDirectory => System.IO.Path.GetDirectoryName(ConfigFile) ?? ".";

    /// <summary>
    /// The run of <paramref name="experiment"/> with <paramref name="seed"/>, its files under <paramref name="artifactsDirectory"/>:
    /// a seed of a sweep (or any seed asked for explicitly) runs in its own <c>seed-&lt;s&gt;</c> folder; null runs the
    /// experiment's own seed in the experiment's folder.
    /// </summary>
    public static ScheduledRun Create(string configFile, ExperimentSpec experiment, ulong? seed, string artifactsDirectory)
    {
        var layout = ExperimentLayout.For(artifactsDirectory, experiment.Name, seed);
        return new(System.IO.Path.GetFullPath(configFile), layout.ExperimentDirectory, layout.Directory, seed is { } s ? experiment.WithSeed(s) : experiment);
    }

    /// <summary>The same run writing to another folder (the host's <c>--output</c>).</summary>
    public ScheduledRun WithOutput(string runDirectory)
    {
        var layout = ExperimentLayout.ForRun(runDirectory);
        return this with { ExperimentDirectory = layout.ExperimentDirectory, RunDirectory = layout.Directory };
    }

    /// <summary>The run's name: the experiment's, or <c>&lt;name&gt;/seed-&lt;s&gt;</c> for a seed of a sweep.</summary>
    [JsonIgnore]
    public string Name => RunDirectory == ExperimentDirectory ? Spec.Name : $"{Spec.Name}/{ExperimentLayout.RunFolder(Spec.Seed)}";

    /// <summary>The canonical settings of <paramref name="stage"/> (what its stamp holds).</summary>
    public string Canonical(Stage stage) => Spec.Canonical(stage, BaseDirectory);

    /// <summary>The fingerprint of <paramref name="stage"/>'s settings.</summary>
    public string Fingerprint(Stage stage) => Spec.Fingerprint(stage, BaseDirectory);

    public string ToJson() => RunJson.Serialize(this);

    /// <summary>Reads a run stamp; a missing or unreadable one is an <see cref="InvalidDataException"/> naming the file.</summary>
    public static ScheduledRun Read(string path) => RunJson.Read<ScheduledRun>(path, "run stamp");
}

/// <summary>
/// The one serialiser of the JSON files runs leave (training.json, checkpoint/state.json, stamps/run.json): snake_case
/// keys, choices by their experiments.yaml names, indented. The tasks and the host read them through it too.
/// metrics.json has a fixed-decimal writer of its own (<c>MetricsJson</c>) since its bytes are locked.
/// </summary>
public static class RunJson
{
    private sealed class LowerCase : JsonNamingPolicy
    {
        public override string ConvertName(string name) => name.ToLowerInvariant();
    }

    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // [JsonStringEnumMemberName] (oxford-pet) wins over the policy, as in experiments.yaml (Choice.Name).
        Converters = { new JsonStringEnumConverter(new LowerCase(), allowIntegerValues: false) },
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options) + "\n";

    /// <summary>Reads <paramref name="path"/>; a missing, unreadable or empty file is an <see cref="InvalidDataException"/> naming it.</summary>
    public static T Read<T>(string path, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: {what} missing.", path);
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
                ?? throw new InvalidDataException($"{path}: empty {what}.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: unreadable {what} ({e.Message}).", e);
        }
    }
}
