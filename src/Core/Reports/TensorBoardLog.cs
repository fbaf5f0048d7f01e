using System.Globalization;
using System.Text;
using Repro.Config;
using Repro.Core.Engine;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace Repro.Core.Reports;

/// <summary>
/// TensorBoard event files for one run (<c>tensorboard --logdir artifacts/experiments</c> compares runs), written with
/// TorchSharp's SummaryWriter into the run's <c>tensorboard/</c> folder. Each stage writes its own file (suffix
/// <c>.train</c> or <c>.test</c>) and replaces the one a previous run of that stage left, so re-running a stage does
/// not plot it twice. Only reads values the run computes anyway: the results (metrics.json) are the same with or
/// without it.
/// </summary>
public sealed class TensorBoardLog
{
    private readonly string directory;
    private readonly string suffix;
    private SummaryWriter? writer;

    private TensorBoardLog(string directory, string stage)
    {
        this.directory = directory;
        // SummaryWriter puts its own '.' before the suffix: events.out.tfevents.<time>.<host>.<pid>.1.<stage>.
        suffix = stage;
    }

    /// <summary>A log for one stage ("train" or "test") of the run laid out as <paramref name="layout"/>.</summary>
    public static TensorBoardLog ForStage(Repro.Config.ExperimentLayout layout, string stage) => new(layout.TensorBoard, stage);

    /// <summary>Deletes this stage's event files: a stage that starts from scratch must not add to a previous run's curves.</summary>
    public void Reset()
    {
        writer = null;
        if (Directory.Exists(directory))
            foreach (var file in Directory.EnumerateFiles(directory, "events.out.tfevents.*." + suffix))
                File.Delete(file);
    }

    // Created on first use, after Reset: SummaryWriter opens its file when constructed.
    private SummaryWriter Writer
    {
        get
        {
            if (writer is null)
            {
                Directory.CreateDirectory(directory);
                writer = tensorboard.SummaryWriter(directory, suffix);
            }
            return writer;
        }
    }

    /// <summary>One optimisation step: the batch's mean loss and the learning rate it used.</summary>
    public void Step(long step, double loss, double learningRate)
    {
        Writer.add_scalar("step/train_loss", (float)loss, checked((int)step));
        Writer.add_scalar("step/lr", (float)learningRate, checked((int)step));
    }

    /// <summary>One finished epoch: train and validation loss and accuracy, and the epoch's last learning rate.</summary>
    public void Epoch(EpochRecord record)
    {
        Writer.add_scalar("epoch/train_loss", (float)record.TrainLoss, record.Epoch);
        Writer.add_scalar("epoch/train_accuracy", (float)record.TrainAccuracy, record.Epoch);
        Writer.add_scalar("epoch/validation_loss", (float)record.ValidationLoss, record.Epoch);
        Writer.add_scalar("epoch/validation_accuracy", (float)record.ValidationAccuracy, record.Epoch);
        Writer.add_scalar("epoch/lr", (float)record.LearningRate, record.Epoch);
    }

    /// <summary>
    /// The test stage: test metrics at the last epoch, the confusion matrix image, and the settings as a markdown
    /// table. TorchSharp 0.107's SummaryWriter has no add_hparams, so the hyper-parameters go in as text (TensorBoard's
    /// Text tab) rather than the HParams dashboard.
    /// </summary>
    public void Test(TestMetrics metrics, int epochs, string confusionPng, IEnumerable<(string Key, object? Value)> settings)
    {
        Writer.add_scalar("test/accuracy", (float)metrics.Accuracy, epochs);
        Writer.add_scalar("test/loss", (float)metrics.Loss, epochs);
        Writer.add_scalar("test/macro_f1", (float)metrics.MacroF1, epochs);
        if (File.Exists(confusionPng))
            Writer.add_img("test/confusion", confusionPng, epochs);
        var text = new StringBuilder("| setting | value |\n|---|---|\n");
        foreach (var (key, value) in settings.OrderBy(s => s.Key, StringComparer.Ordinal))
            text.Append(CultureInfo.InvariantCulture, $"| {key} | {Format(value)} |\n");
        Writer.add_text("hparams", text.ToString(), epochs);
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        Enum e => Repro.Config.Choice.Name(e),
        System.Collections.IEnumerable list and not string => string.Join(", ", list.Cast<object?>().Select(Format)),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
