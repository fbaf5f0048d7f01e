using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Repro.Core.Models;

/// <summary>
/// Reads state_dicts written by <c>torch.save</c> in PyTorch's legacy (pre-1.6, non-zip) format, the format of
/// torchvision's original ImageNet files such as <c>resnet50-19c8e357.pth</c> and <c>densenet121-a639ec97.pth</c>,
/// which TorchSharp.PyBridge refuses. The layout follows <c>torch/serialization.py</c> (<c>_legacy_save</c> /
/// <c>_legacy_load</c>): five consecutive pickles (magic number, protocol version, system info, the object with
/// storages as persistent ids, the sorted storage keys), then each storage as an int64 element count and raw bytes.
/// </summary>
internal static class LegacyTorchFile
{
    // torch/serialization.py MAGIC_NUMBER and PROTOCOL_VERSION.
    private static readonly BigInteger MagicNumber = BigInteger.Parse("119547037146038801333356", System.Globalization.CultureInfo.InvariantCulture);
    private const int ProtocolVersion = 1001;

    static LegacyTorchFile()
    {
        // Razorvine's constructor table is global and PyBridge registered its zip-format tensor constructors in
        // it; wrap them so legacy storages are rebuilt here and everything else still reaches PyBridge.
        RuntimeHelpers.RunClassConstructor(typeof(PyTorchUnpickler).TypeHandle);
        LegacyUnpickler.WrapTensorConstructors();
    }

    /// <summary>Whether the stream starts like a legacy file (a pickle, not a zip archive); the position is restored.</summary>
    public static bool Detect(Stream stream)
    {
        long start = stream.Position;
        int first = stream.ReadByte();
        stream.Position = start;
        return first == 0x80; // pickle protocol 2+ PROTO opcode
    }

    /// <summary>Reads a flat state_dict: name -> CPU tensor.</summary>
    public static Dictionary<string, Tensor> Read(Stream stream)
    {
        var magic = new Unpickler().load(stream);
        if (magic is not BigInteger m || m != MagicNumber)
            throw new InvalidDataException("not a torch.save file (wrong magic number)");
        if (new Unpickler().load(stream) is not int protocol || protocol != ProtocolVersion)
            throw new InvalidDataException("unsupported legacy torch.save protocol version");
        if (new Unpickler().load(stream) is IDictionary info && info["little_endian"] is false)
            throw new InvalidDataException("big-endian torch.save files are not supported");

        var root = new LegacyUnpickler().load(stream);
        if (root is not IDictionary table)
            throw new InvalidDataException("the file does not hold a state_dict");
        if (new Unpickler().load(stream) is not ArrayList keys)
            throw new InvalidDataException("the storage key list is missing");

        var refs = new List<(string Name, TensorRef Ref)>();
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string name && entry.Value is TensorRef r)
                refs.Add((name, r));
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Span<byte> count = stackalloc byte[8];
        foreach (string key in keys)
        {
            var users = refs.Where(r => r.Ref.Storage.Key == key).ToList();
            var dtype = users.Count > 0 ? users[0].Ref.Storage.DType : float32;
            stream.ReadExactly(count);
            long numel = BitConverter.ToInt64(count);
            using var storage = empty(numel, dtype);
            storage.ReadBytesFromStream(stream, bufferSize: 1 << 20);
            foreach (var (name, r) in users)
            {
                using var view = storage.as_strided(r.Shape, r.Stride, r.Offset + r.Storage.ViewOffset);
                result[name] = view.clone();
            }
        }
        if (result.Count != refs.Count)
            throw new InvalidDataException("some tensors refer to storages the file does not contain");
        return result;
    }

    private sealed record StorageRef(string Key, ScalarType DType, long ViewOffset);

    private sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    private sealed class LegacyUnpickler : Unpickler
    {
        public static void WrapTensorConstructors()
        {
            foreach (var name in new[] { "_rebuild_tensor", "_rebuild_tensor_v2" })
            {
                objectConstructors.TryGetValue("torch._utils." + name, out var inner);
                registerConstructor("torch._utils", name, new RebuildTensor(inner));
            }
        }

        protected override object persistentLoad(object pid)
        {
            // ('storage', storage_type, key, location, numel, view_metadata) — torch/serialization.py persistent_id.
            if (pid is not object[] { Length: >= 5 } id || id[0] is not "storage" || id[1] is not ClassDictConstructor type)
                throw new InvalidDataException("unknown persistent id in legacy torch.save file");
            long viewOffset = id.Length > 5 && id[5] is object[] { Length: >= 1 } view ? Convert.ToInt64(view[0]) : 0;
            return new StorageRef((string)id[2], DTypeOf(type.name), viewOffset);
        }

        private static ScalarType DTypeOf(string storage) => storage switch
        {
            "DoubleStorage" => float64,
            "FloatStorage" => float32,
            "HalfStorage" => float16,
            "BFloat16Storage" => bfloat16,
            "LongStorage" => int64,
            "IntStorage" => int32,
            "ShortStorage" => int16,
            "CharStorage" => int8,
            "ByteStorage" => uint8,
            "BoolStorage" => ScalarType.Bool,
            _ => throw new InvalidDataException($"unsupported storage type {storage}"),
        };

        private sealed class RebuildTensor(IObjectConstructor? inner) : IObjectConstructor
        {
            public object construct(object[] args)
            {
                // _rebuild_tensor(storage, offset, size, stride[, requires_grad, backward_hooks]).
                if (args.Length >= 4 && args[0] is StorageRef storage)
                    return new TensorRef(storage, Convert.ToInt64(args[1]), Longs(args[2]), Longs(args[3]));
                return inner?.construct(args) ?? throw new PickleException("no constructor for torch._utils._rebuild_tensor");
            }

            private static long[] Longs(object tuple) => ((object[])tuple).Select(Convert.ToInt64).ToArray();
        }
    }
}
