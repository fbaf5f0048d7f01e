using Mono.Cecil;
using Mono.Cecil.Cil;
using Repro.Config;
using Repro.Core.Engine;
using Repro.Core.Models;

namespace Repro.Core.Tests.Engine;

/// <summary>
/// No implicit TorchSharp Scalar in Repro.Core: such a Scalar can be finalized, and its native memory freed, while
/// LibTorch reads it (<see cref="HeldScalars"/> says how CI met it). The check reads the compiled IL (Mono.Cecil), so
/// it sees the conversions the C# compiler inserts where the source shows a plain number.
/// </summary>
public sealed class ScalarLifetimeTests
{
    private static bool ImplicitScalar(MethodReference m) => m.Name == "op_Implicit" && m.DeclaringType.FullName == "TorchSharp.Scalar";

    [Fact]
    public void CoreAssembly_ImplicitScalarConversions_None()
    {
        var callers = Callers(typeof(HeldScalars).Assembly.Location, ImplicitScalar).Select(m => $"{m.DeclaringType.Name}.{m.Name}").ToList();

        Assert.True(callers.Count == 0, "implicit Scalar conversions (use HeldScalars) in: " + string.Join(", ", callers));
    }

    // One level down: TorchSharp methods that make an implicit Scalar themselves (Tensor.add_(Tensor) passes alpha 1,
    // the optimizers' steps, BatchNorm's forward) must not be called from Repro.Core either.
    [Fact]
    public void CoreAssembly_TorchSharpMethodsMakingImplicitScalars_NotCalled()
    {
        var makers = Callers(typeof(TorchSharp.Scalar).Assembly.Location, ImplicitScalar).Select(m => m.FullName).ToHashSet();

        var called = Callees(typeof(HeldScalars).Assembly.Location).Select(m => m.FullName).Where(makers.Contains).Distinct().Order().ToList();

        Assert.True(called.Count == 0, "Repro.Core calls TorchSharp methods that make implicit Scalars: " + string.Join(", ", called));
    }

    [Fact]
    public void Models_BatchNormLayers_AreReprosOwn()
    {
        foreach (var kind in Enum.GetValues<ModelKind>())
        {
            using var model = Zoo.Create(kind, 10);
            Assert.DoesNotContain(model.modules(), m => m is TorchSharp.Modules.BatchNorm && m is not Repro.Core.Models.BatchNorm2d);
            Assert.Contains(model.modules(), m => m is Repro.Core.Models.BatchNorm2d);
        }
    }

    [Fact]
    public void MethodsCalling_ImplicitConversionInThisTest_Found()
    {
        // The scan itself must find what it looks for: this assembly converts a number implicitly right here.
        using var t = TorchSharp.torch.ones(1);
        using var u = t.mul(2.0);

        var callers = Callers(typeof(ScalarLifetimeTests).Assembly.Location, ImplicitScalar).Select(m => $"{m.DeclaringType.Name}.{m.Name}").ToList();

        Assert.Contains($"{nameof(ScalarLifetimeTests)}.{nameof(MethodsCalling_ImplicitConversionInThisTest_Found)}", callers);
    }

    /// <summary>The methods of the assembly whose bodies call a method that <paramref name="target"/> accepts.</summary>
    private static List<MethodDefinition> Callers(string assembly, Func<MethodReference, bool> target)
    {
        using var module = ModuleDefinition.ReadModule(assembly);
        return [.. Bodies(module).Where(m => m.Body.Instructions.Any(i => Called(i) is { } callee && target(callee)))];
    }

    /// <summary>Every method the assembly's bodies call (call, callvirt, newobj), its own included.</summary>
    private static List<MethodReference> Callees(string assembly)
    {
        using var module = ModuleDefinition.ReadModule(assembly);
        return [.. Bodies(module).SelectMany(m => m.Body.Instructions).Select(Called).OfType<MethodReference>()];
    }

    private static IEnumerable<MethodDefinition> Bodies(ModuleDefinition module) =>
        module.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody);

    private static MethodReference? Called(Instruction i) =>
        i.OpCode.Code is Code.Call or Code.Callvirt or Code.Newobj ? i.Operand as MethodReference : null;
}
