namespace Repro.Core.Engine;

/// <summary>Per-class results of a test.</summary>
public sealed record ClassMetrics(string Name, int Count, int Correct, double Accuracy, double Precision, double Recall, double F1);

/// <summary>What testing a model on a split measures: all derived from the confusion matrix and the summed loss.</summary>
public sealed class TestMetrics
{
    public TestMetrics(IReadOnlyList<string> classes, long[,] confusion, double lossSum, long top5Correct)
    {
        Classes = classes;
        Confusion = confusion;
        int n = classes.Count;
        Count = 0;
        Correct = 0;
        var perClass = new List<ClassMetrics>(n);
        for (int c = 0; c < n; c++)
        {
            long actual = 0, predicted = 0;
            for (int k = 0; k < n; k++)
            {
                actual += confusion[c, k];
                predicted += confusion[k, c];
            }
            long hit = confusion[c, c];
            Count += actual;
            Correct += hit;
            double recall = actual == 0 ? 0 : (double)hit / actual;
            double precision = predicted == 0 ? 0 : (double)hit / predicted;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass.Add(new ClassMetrics(classes[c], (int)actual, (int)hit, recall, precision, recall, f1));
        }
        PerClass = perClass;
        Loss = Count == 0 ? double.NaN : lossSum / Count;
        Accuracy = Count == 0 ? double.NaN : (double)Correct / Count;
        Top5Accuracy = n > 5 && Count > 0 ? (double)top5Correct / Count : null;
        MacroF1 = perClass.Count == 0 ? double.NaN : perClass.Average(p => p.F1);
    }

    public IReadOnlyList<string> Classes { get; }

    /// <summary>Rows: true class; columns: predicted class.</summary>
    public long[,] Confusion { get; }

    public long Count { get; }

    public long Correct { get; }

    /// <summary>Mean cross-entropy per image (without label smoothing).</summary>
    public double Loss { get; }

    public double Accuracy { get; }

    /// <summary>Only where there are more than five classes, as top-5 is meaningless otherwise.</summary>
    public double? Top5Accuracy { get; }

    public double MacroF1 { get; }

    public IReadOnlyList<ClassMetrics> PerClass { get; }
}
