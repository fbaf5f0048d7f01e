using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using Repro.Config;
using Repro.Core.Engine;
using Repro.Core.Models;

namespace Repro.Core.Tests.Engine;

/// <summary>
/// No implicit TorchSharp Scalar in Repro.Core: such a Scalar can be finalized, and its native memory freed, while
/// LibTorch reads it (<see cref="HeldScalars"/> says how CI met it). The check reads the compiled IL, so it sees the
/// conversions the C# compiler inserts where the source shows a plain number.
/// </summary>
public sealed class ScalarLifetimeTests
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void CoreAssembly_ImplicitScalarConversions_None()
    {
        var callers = MethodsCalling(typeof(HeldScalars).Assembly.Location, "TorchSharp", "Scalar", "op_Implicit").Select(m => m.Name).ToList();

        Assert.True(callers.Count == 0, "implicit Scalar conversions (use HeldScalars) in: " + string.Join(", ", callers));
    }

    // One level down: TorchSharp methods that make an implicit Scalar themselves (Tensor.add_(Tensor) passes alpha 1,
    // the optimizers' steps, BatchNorm's forward) must not be called from Repro.Core either.
    [Fact]
    public void CoreAssembly_TorchSharpMethodsMakingImplicitScalars_NotCalled()
    {
        string torchSharp = typeof(TorchSharp.Scalar).Assembly.Location;
        var makers = Signatures(torchSharp, MethodsCalling(torchSharp, "TorchSharp", "Scalar", "op_Implicit")).ToHashSet();

        var called = CalledSignatures(typeof(HeldScalars).Assembly.Location).Where(makers.Contains).Order().ToList();

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

        var callers = MethodsCalling(typeof(ScalarLifetimeTests).Assembly.Location, "TorchSharp", "Scalar", "op_Implicit").Select(m => m.Name).ToList();

        Assert.Contains($"{nameof(ScalarLifetimeTests)}.{nameof(MethodsCalling_ImplicitConversionInThisTest_Found)}", callers);
    }

    /// <summary>
    /// Every method body in the assembly that calls the named method of the named type (defined in that assembly or
    /// referenced from another): "Type.Method" and its handle.
    /// </summary>
    private static List<(string Name, MethodDefinitionHandle Handle)> MethodsCalling(string assembly, string ns, string type, string method)
    {
        using var pe = new PEReader(File.OpenRead(assembly));
        var md = pe.GetMetadataReader();
        bool IsTarget(StringHandle name, StringHandle typeNamespace, StringHandle typeName) =>
            md.GetString(name) == method && md.GetString(typeNamespace) == ns && md.GetString(typeName) == type;
        var targets = md.MemberReferences
            .Where(h => md.GetMemberReference(h) is var m && m.Parent.Kind == HandleKind.TypeReference
                && md.GetTypeReference((TypeReferenceHandle)m.Parent) is var t && IsTarget(m.Name, t.Namespace, t.Name))
            .Select(h => MetadataTokens.GetToken(h))
            .Concat(md.MethodDefinitions
                .Where(h => md.GetMethodDefinition(h) is var d && md.GetTypeDefinition(d.GetDeclaringType()) is var t && IsTarget(d.Name, t.Namespace, t.Name))
                .Select(h => MetadataTokens.GetToken(h)))
            .ToHashSet();
        var callers = new List<(string, MethodDefinitionHandle)>();
        foreach (var handle in md.MethodDefinitions)
        {
            var definition = md.GetMethodDefinition(handle);
            if (definition.RelativeVirtualAddress == 0)
                continue;
            var il = pe.GetMethodBody(definition.RelativeVirtualAddress).GetILReader();
            if (CallTokens(il).Any(targets.Contains))
                callers.Add(($"{md.GetString(md.GetTypeDefinition(definition.GetDeclaringType()).Name)}.{md.GetString(definition.Name)}", handle));
        }
        return callers;
    }

    /// <summary>"Namespace.Type::Method(parameter types)" of the given methods of <paramref name="assembly"/>.</summary>
    private static IEnumerable<string> Signatures(string assembly, List<(string Name, MethodDefinitionHandle Handle)> methods)
    {
        using var pe = new PEReader(File.OpenRead(assembly));
        var md = pe.GetMetadataReader();
        var names = new TypeNames();
        foreach (var (_, handle) in methods)
        {
            var d = md.GetMethodDefinition(handle);
            yield return $"{names.GetTypeFromDefinition(md, d.GetDeclaringType(), 0)}::{md.GetString(d.Name)}({string.Join(",", d.DecodeSignature(names, null).ParameterTypes)})";
        }
    }

    /// <summary>The same form for every method of another assembly that <paramref name="assembly"/> calls.</summary>
    private static IEnumerable<string> CalledSignatures(string assembly)
    {
        using var pe = new PEReader(File.OpenRead(assembly));
        var md = pe.GetMetadataReader();
        var names = new TypeNames();
        var called = md.MethodDefinitions
            .Select(md.GetMethodDefinition)
            .Where(d => d.RelativeVirtualAddress != 0)
            .SelectMany(d => CallTokens(pe.GetMethodBody(d.RelativeVirtualAddress).GetILReader()))
            .Select(t => MetadataTokens.EntityHandle(t))
            .Where(h => h.Kind == HandleKind.MemberReference)
            .Distinct()
            .ToList();
        foreach (var handle in called)
        {
            var m = md.GetMemberReference((MemberReferenceHandle)handle);
            if (m.GetKind() != MemberReferenceKind.Method || m.Parent.Kind != HandleKind.TypeReference)
                continue;
            string parent = names.GetTypeFromReference(md, (TypeReferenceHandle)m.Parent, 0);
            yield return $"{parent}::{md.GetString(m.Name)}({string.Join(",", m.DecodeMethodSignature(names, null).ParameterTypes)})";
        }
    }

    /// <summary>Type names as "Namespace.Outer/Inner", the same whether a type is defined here or referenced.</summary>
    private sealed class TypeNames : ISignatureTypeProvider<string, object?>
    {
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            var t = reader.GetTypeDefinition(handle);
            var outer = t.GetDeclaringType();
            return outer.IsNil ? $"{reader.GetString(t.Namespace)}.{reader.GetString(t.Name)}" : $"{GetTypeFromDefinition(reader, outer, 0)}/{reader.GetString(t.Name)}";
        }
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
        {
            var t = reader.GetTypeReference(handle);
            return t.ResolutionScope.Kind == HandleKind.TypeReference
                ? $"{GetTypeFromReference(reader, (TypeReferenceHandle)t.ResolutionScope, 0)}/{reader.GetString(t.Name)}"
                : $"{reader.GetString(t.Namespace)}.{reader.GetString(t.Name)}";
        }
        public string GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetArrayType(string elementType, ArrayShape shape) => $"{elementType}[{new string(',', shape.Rank - 1)}]";
        public string GetByReferenceType(string elementType) => elementType + "&";
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetPinnedType(string elementType) => elementType;
        public string GetGenericInstantiation(string genericType, System.Collections.Immutable.ImmutableArray<string> typeArguments) =>
            $"{genericType}<{string.Join(",", typeArguments)}>";
        public string GetGenericMethodParameter(object? context, int index) => "!!" + index;
        public string GetGenericTypeParameter(object? context, int index) => "!" + index;
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetTypeFromSerializedName(string name) => name;
        public PrimitiveTypeCode GetUnderlyingEnumType(string type) => PrimitiveTypeCode.Int32;
        public bool IsSystemType(string type) => type == "System.Type";
    }

    /// <summary>The metadata tokens of the methods an IL body calls, decoded instruction by instruction.</summary>
    private static IEnumerable<int> CallTokens(BlobReader il)
    {
        var tokens = new List<int>();
        while (il.RemainingBytes > 0)
        {
            short value = il.ReadByte();
            if (value == 0xFE)
                value = unchecked((short)(0xFE00 | il.ReadByte()));
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    int targets = il.ReadInt32(); // read first: "il.Offset += 4 * il.ReadInt32()" would add to the offset before the read
                    il.Offset += 4 * targets;
                    break;
                case OperandType.InlineMethod:
                    int token = il.ReadInt32();
                    if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj)
                        tokens.Add(token);
                    break;
                default:
                    il.Offset += 4;
                    break;
            }
        }
        return tokens;
    }
}
