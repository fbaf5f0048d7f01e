using TorchSharp;

namespace Repro.Core.Engine;

/// <summary>
/// Scalars that stay alive until the block that made them ends. Why: a TorchSharp <see cref="Scalar"/> made by an
/// implicit conversion (<c>t.add_(u)</c>, <c>t.mul_(0.9)</c>) is unreachable once its handle has been read, so a
/// garbage collection on another thread (the input pipeline allocates constantly) can run its finalizer, which frees
/// the native <c>c10::Scalar</c>, while LibTorch is still reading it. Seen on CI: ResNet50 training died at batch 24
/// with "For integral input tensors, argument alpha must not be a floating point number", the message LibTorch
/// gives for an <c>alpha</c> whose tag is garbage; a float argument freed the same way can silently change a result.
/// Every Scalar Repro passes is made here (ScalarLifetimeTests scans Repro.Core for implicit conversions).
/// </summary>
public sealed class HeldScalars : IDisposable
{
    private readonly List<Scalar> held = [];

    /// <summary>A float64 Scalar, as TorchSharp's implicit conversion from <see cref="double"/> makes it.</summary>
    public Scalar Of(double value) => Hold(value.ToScalar());

    /// <summary>An int64 Scalar, as TorchSharp's implicit conversion from <see cref="long"/> makes it.</summary>
    public Scalar Of(long value) => Hold(value.ToScalar());

    /// <summary>An int32 Scalar, as TorchSharp's implicit conversion from <see cref="int"/> makes it (its default alpha).</summary>
    public Scalar Of(int value) => Hold(value.ToScalar());

    private Scalar Hold(Scalar scalar)
    {
        held.Add(scalar);
        return scalar;
    }

    public void Dispose()
    {
        foreach (var scalar in held)
            scalar.Dispose();
        held.Clear();
    }
}
