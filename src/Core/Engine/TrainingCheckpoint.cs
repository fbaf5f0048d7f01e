using Repro.Config;
using Repro.Config.IO;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>
/// A run's training checkpoint (<c>checkpoint/</c>): the last complete epoch's model and optimizer, committed by
/// state.json. The one place that decides whether a checkpoint may be resumed: only under the same
/// <see cref="CheckpointKey"/> (settings, data, pretrained weights and code), so that a resumed run ends with the same
/// bytes as an uninterrupted one, and at no more than the <paramref name="epochs"/> asked for. A finished run keeps
/// its last epoch's checkpoint, model.bin being a hard link to its model file: the key leaves <c>epochs</c> out where
/// the schedule does not depend on it (<see cref="ExperimentSpec.CheckpointFingerprint"/>), so raising <c>epochs</c>
/// trains on from it.
/// </summary>
/// <param name="epochs">The epochs this training asks for: a checkpoint beyond them is stale.</param>
public sealed class TrainingCheckpoint(ExperimentLayout layout, CheckpointKey key, int epochs = int.MaxValue)
{
    public CheckpointKey Key => key;

    /// <summary>Why the checkpoint on disk must not be resumed; null when there is none or it matches.</summary>
    public string? Staleness()
    {
        if (!File.Exists(layout.CheckpointState))
            return Directory.Exists(layout.Checkpoints) && Directory.EnumerateFileSystemEntries(layout.Checkpoints).Any() ? "it has no state.json" : null;
        CheckpointState state;
        try
        {
            state = RunJson.Read<CheckpointState>(layout.CheckpointState, "checkpoint state");
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }
        if (state.Key is null)
            return "it was written by an older Repro";
        var changed = new List<string>();
        if (state.Key.Config != key.Config) changed.Add($"settings (fingerprint {state.Key.Config}, now {key.Config})");
        if (state.Key.Data != key.Data) changed.Add("data");
        if (state.Key.Weights != key.Weights) changed.Add("pretrained weights");
        if (state.Key.Code != key.Code) changed.Add("code");
        if (changed.Count > 0)
            return "it was written before these changed: " + string.Join(", ", changed);
        return state.Epoch > epochs ? $"it is at epoch {state.Epoch}, beyond the {epochs} epochs asked for" : null;
    }

    /// <summary>Deletes a checkpoint that must not be resumed, saying why; keeps one that may.</summary>
    public void DiscardIfStale(Action<string> log)
    {
        if (Staleness() is not { } why)
            return;
        log($"discarding the checkpoint in {layout.Checkpoints}: {why}");
        Directory.Delete(layout.Checkpoints, recursive: true);
    }

    /// <summary>
    /// Loads the last complete epoch into <paramref name="model"/> and <paramref name="optimizer"/> and its history
    /// into <paramref name="history"/>; returns the epochs done (0 without a checkpoint). A stale checkpoint is an error.
    /// </summary>
    public int Resume(nn.Module model, OptimizerHelper optimizer, List<EpochRecord> history)
    {
        if (!File.Exists(layout.CheckpointState))
            return 0;
        if (Staleness() is { } why)
            throw new InvalidDataException(
                $"{layout.CheckpointState}: the checkpoint is not resumed: {why}. Delete the folder (or build with -p:Force=true) to train from scratch.");
        var state = RunJson.Read<CheckpointState>(layout.CheckpointState, "checkpoint state");
        model.load(layout.CheckpointModel(state.Epoch));
        optimizer.load_state_dict(layout.CheckpointOptimizer(state.Epoch));
        history.AddRange(state.History);
        return state.Epoch;
    }

    /// <summary>
    /// Commits <paramref name="record"/>'s epoch: model and optimizer go first under epoch-numbered names, then the
    /// record joins <paramref name="history"/> with the resident memory measured now, then state.json, renamed in last,
    /// commits the epoch.
    /// </summary>
    public void Save(nn.Module model, OptimizerHelper optimizer, List<EpochRecord> history, EpochRecord record)
    {
        int epoch = record.Epoch;
        AtomicFile.WriteVia(layout.CheckpointModel(epoch), p => model.save(p));
        AtomicFile.WriteVia(layout.CheckpointOptimizer(epoch), p => optimizer.save_state_dict(p));
        // Measured at the same point of every epoch, after the checkpoint's buffers are gone, so growth from one
        // epoch to the next shows a leak rather than a transient peak.
        history.Add(record with { ResidentMegabytes = ResidentMemory.Megabytes() });
        AtomicFile.WriteAllText(layout.CheckpointState, RunJson.Serialize(new CheckpointState(key, epoch, [.. history])));
        foreach (var old in Directory.EnumerateFiles(layout.Checkpoints, "*-*.bin"))
            if (old != layout.CheckpointModel(epoch) && old != layout.CheckpointOptimizer(epoch))
                File.Delete(old);
    }

    /// <summary>
    /// Gives <paramref name="path"/> (model.bin) the model of the last committed epoch as a hard link to its checkpoint
    /// file, so that a finished run holds those bytes once (a copy where the file system has no hard links). Only for
    /// a model whose state is that epoch's, as after the last epoch, and saved in the checkpoint's type.
    /// </summary>
    /// <returns>False when no epoch is committed (0 epochs): the caller saves the model itself.</returns>
    public bool ExportModel(string path)
    {
        if (!File.Exists(layout.CheckpointState))
            return false;
        var state = RunJson.Read<CheckpointState>(layout.CheckpointState, "checkpoint state");
        FileLink.LinkOrCopy(layout.CheckpointModel(state.Epoch), path);
        return true;
    }

    /// <summary>
    /// The code part of a key: the core's and the config's assemblies (deterministic builds give a new module id
    /// exactly when the code changes) and TorchSharp's version.
    /// </summary>
    public static string CodeIdentity() =>
        $"{typeof(TrainingCheckpoint).Assembly.ManifestModule.ModuleVersionId:N}-{typeof(ExperimentSpec).Assembly.ManifestModule.ModuleVersionId:N}-{TorchRuntime.TorchSharpVersion}";
}
