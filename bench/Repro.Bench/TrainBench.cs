using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Repro.Config;
using Repro.Core.Data;
using Repro.Core.Engine;
using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;
using DataLoader = Repro.Core.Data.DataLoader;

namespace Repro.Bench;

/// <summary>
/// Model-side benchmarks, the Repro half of scripts/bench.sh (the PyTorch half is scripts/bench-train.py).
/// Every mode prints one JSON line. Modes:
///   train: training steps on a fixed random batch. loop=repro runs what Trainer.Step runs per batch (dispose
///          scope, host-to-device copy, learning rate set, forward, cross-entropy, zero_grad, backward, Adam step,
///          loss and accuracy read back); loop=raw only forward, loss, zero_grad, backward, step,
///          loss.item() (with --plain-runtime, also without Repro's LibTorch settings: plain TorchSharp).
///   eval:  evaluation steps (no_grad, eval mode); loop=repro adds Evaluator's MetricsAccumulator.
///   bn:    evaluation-mode BatchNorm layer by layer, against the same map as one addcmul (BatchNormBench.cs).
///   epoch: Repro's real Trainer.Run over a generated JPEG folder through Repro's DataLoader, several epochs,
///          images/s of the training part of each epoch and resident memory after each.
/// </summary>
internal static class TrainBench
{
    private static Device Device = CPU;

    public static int Run(string mode, string[] args)
    {
        var o = Options.Parse(args);
        // The Repro side allocates as experiments do (Allocator.ForExperiments) unless --mallopt says otherwise
        // (--mallopt glibc: glibc's defaults); plain TorchSharp keeps glibc's defaults.
        if (o.MallOpt == "")
            o.MallOpt = o.PlainRuntime ? "glibc" : Allocator.ForExperiments(Allocator.LargestActivationBytes(o.Batch, o.Size));
        var malloc = Allocator.Apply(o.MallOpt == "glibc" ? "" : o.MallOpt);
        if (malloc.Count > 0)
            Console.Error.WriteLine($"mallopt: {string.Join(", ", malloc)}");
        // As ExperimentRunner: the portable pins before LibTorch's first operator (portable is CPU-only, so loading
        // LibTorch's CPU backend first is right there).
        PortableNumerics.Apply(o.Numerics);
        // CUDA first: its backend must load before anything loads the CPU-only one (gpu-check.sh).
        Device = TorchRuntime.ResolveDevice(Choice.Parse<DeviceChoice>(o.Device));
        if (o.NoOneDnn)
        {
            TorchRuntime.SetOneDnnEnabled(false);
            TorchRuntime.SetNnpackEnabled(false);
        }
        if ((o.ChannelsLast || o.ChannelsLastWeights) && InputFormat.ChannelsLastRefusal(Device.type, X86Cpu.Current(), TorchRuntime.OneDnnEnabled != false) is { } why)
        {
            // A case this CPU cannot run (an experiment would run NCHW instead): one JSON line saying so, so that a
            // bench.sh run over both layouts goes on; bench-table.py leaves it out.
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["side"] = Side(o), ["mode"] = mode, ["model"] = o.Model, ["size"] = o.Size, ["batch"] = o.Batch,
                ["channels_last"] = true, ["skipped"] = why,
            }));
            return 0;
        }
        if (o.PlainRuntime)
            torch.set_num_threads(o.Threads); // without Repro's deterministic-algorithms switch
        else
            TorchRuntime.Configure(o.Threads, Device, tf32: true);
        return mode switch
        {
            "train" => Train(o),
            "eval" => Eval(o),
            "epoch" => Epoch(o),
            "bn" => BatchNormBench.Run(o, Device),
            _ => throw new ArgumentException(mode),
        };
    }

    internal sealed class Options
    {
        public string Model = "resnet50";
        public int Size = 224;
        public int Batch = 32;
        public int Steps = 3;
        public int Warmup = 1;
        public int Threads = 2;
        public int LoaderThreads = 2;
        public int Epochs = 3;
        public int Classes = 10;
        public string Loop = "repro";
        public string Dir = "";
        public bool ChannelsLast;
        public bool ChannelsLastWeights;
        public bool NoFold;
        public bool PlainRuntime;

        /// <summary>glibc malloc settings applied at start (Allocator.Apply), e.g. mmap_threshold=4194304,trim_threshold=0;
        /// "glibc" for glibc's defaults; empty: what an experiment of this batch and size uses (Allocator.ForExperiments), or glibc's for plain TorchSharp.</summary>
        public string MallOpt = "";
        public bool StridedDownsample;
        public string Device = "cpu";

        /// <summary>An experiment's <c>numerics</c>: portable runs as the "portable" side of bench.sh.</summary>
        public NumericsMode Numerics = NumericsMode.Native;

        /// <summary>oneDNN (and NNPACK) off alone, without the other portable pins: what that pin costs (docs/numerics.md).</summary>
        public bool NoOneDnn;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string v() => args[++i];
                int n() => int.Parse(args[++i], CultureInfo.InvariantCulture);
                switch (args[i])
                {
                    case "--model": o.Model = v(); break;
                    case "--size": o.Size = n(); break;
                    case "--batch": o.Batch = n(); break;
                    case "--steps": o.Steps = n(); break;
                    case "--warmup": o.Warmup = n(); break;
                    case "--threads": o.Threads = n(); break;
                    case "--loader-threads": o.LoaderThreads = n(); break;
                    case "--epochs": o.Epochs = n(); break;
                    case "--classes": o.Classes = n(); break;
                    case "--loop": o.Loop = v(); break;
                    case "--dir": o.Dir = v(); break;
                    case "--channels-last": o.ChannelsLast = true; break;
                    case "--channels-last-weights": o.ChannelsLastWeights = true; break;
                    case "--plain-runtime": o.PlainRuntime = true; break;
                    case "--strided-downsample": o.StridedDownsample = true; break;
                    case "--device": o.Device = v(); break;
                    case "--numerics": o.Numerics = Choice.Parse<NumericsMode>(v()); break;
                    case "--no-onednn": o.NoOneDnn = true; break;
                    case "--mallopt": o.MallOpt = v(); break;
                    case "--no-fold": o.NoFold = true; break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            return o;
        }
    }

    /// <summary>The training options of an experiment with the built-in defaults (Adam, lr 2e-4, ...) and the benchmark's batch and epochs.</summary>
    internal static TrainingOptions MakeOptions(Options o) =>
        new(Batch: o.Batch, Epochs: o.Epochs, Optimizer: OptimizerKind.Adam, LearningRate: (double)Schema.FindExperimentKey("lr")!.Default!);

    /// <summary>Repro's models by name; tv-resnet50 is TorchVision-for-.NET's own, to compare Repro's port with it.</summary>
    private static nn.Module<Tensor, Tensor> CreateModel(Options o)
    {
        var model = o.Model == "tv-resnet50" ? torchvision.models.resnet50(o.Classes) : Zoo.Create(Choice.Parse<ModelKind>(o.Model), o.Classes);
        if (o.ChannelsLastWeights)
        {
            // What PyTorch's model.to(memory_format=torch.channels_last) does to 4-d parameters; an experiment, not
            // something Repro's checkpoints can store yet (they write parameters in storage order).
            using var _ = no_grad();
            foreach (var (_, module) in model.named_modules())
                if (module is TorchSharp.Modules.Conv2d conv)
                    conv.weight = new TorchSharp.Modules.Parameter(InputFormat.ToChannelsLast(conv.weight.detach()), conv.weight.requires_grad);
        }
        if (o.StridedDownsample)
        {
            // The plain strided 1x1 shortcut convolution instead of Repro's subsampled form, to time what the
            // subsampled form costs (docs/benchmarks.md); it crashes on the CPUs that Downsample describes.
            foreach (var (_, module) in model.named_modules())
                if (module is Downsample downsample)
                    downsample.Strided = true;
        }
        return model;
    }

    /// <summary>Same values on both sides: x[i] = sin(i * 0.001), labels i % classes.</summary>
    private static (Tensor X, Tensor Y) Inputs(Options o)
    {
        var x = arange(0, (long)o.Batch * 3 * o.Size * o.Size, dtype: float32).mul_(0.001).sin_().reshape(o.Batch, 3, o.Size, o.Size);
        var y = arange(0, o.Batch, dtype: int64).remainder_(o.Classes);
        return (x, y);
    }

    private static int Train(Options o)
    {
        Trace("start");
        TorchRuntime.Seed(1);
        Trace("seeded");
        var model = CreateModel(o);
        Trace("model");
        if (Environment.GetEnvironmentVariable("BENCH_GC") == "1") { GC.Collect(); GC.WaitForPendingFinalizers(); Trace("gc"); }
        model.to(Device);
        model.train();
        var (x, y) = Inputs(o);
        // As Trainer and Evaluator do: to the device, then the layout (InputFormat.Prepare), every step.
        var input = new InputFormat(ScalarType.Float32, o.ChannelsLast);
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        var options = MakeOptions(o);
        using var optimizer = Optimization.Create(options, trainable);
        if (o.Loop != "raw")
            Trainer.AllocateGradients(trainable); // as Trainer does before its first step
        double lossSum = 0;
        long correct = 0;
        void Step()
        {
            using var scope = NewDisposeScope();
            if (o.Loop == "raw")
            {
                var logits = model.forward(input.Prepare(x, Device));
                var loss = nn.functional.cross_entropy(logits, y.to(Device));
                Trace("forward");
                optimizer.zero_grad();
                loss.backward();
                Trace("backward");
                optimizer.step();
                Trace("step");
                lossSum += loss.item<float>();
            }
            else
            {
                // What Trainer runs per batch: the same step function, then the same read-backs an epoch's totals do.
                var xs = input.Prepare(x, Device);
                var ys = TorchRuntime.ToDevice(y, Device);
                var (loss, hits) = Trainer.Step(optimizer, trainable, model, xs, ys, Optimization.LearningRate(options, 0, 1), options);
                lossSum += loss.to(float64).cpu().item<double>() * ys.shape[0];
                correct += hits.cpu().item<long>();
                Trace("step");
            }
            Sync();
        }
        var cpu = new List<double>();
        var times = TimeSteps(o, Step, cpu);
        Emit("train", o, times, new() { ["loss_sum"] = lossSum, ["cpu_s"] = cpu, ["cpu_s_median"] = Median(cpu) });
        return 0;
    }

    private static int Eval(Options o)
    {
        TorchRuntime.Seed(1);
        var model = CreateModel(o);
        model.to(Device);
        model.eval();
        var (x, y) = Inputs(o);
        // As Trainer and Evaluator do: to the device, then the layout (InputFormat.Prepare), every step.
        var input = new InputFormat(ScalarType.Float32, o.ChannelsLast);
        var classes = Enumerable.Range(0, o.Classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        var metrics = new MetricsAccumulator(classes);
        double sum = 0;
        // As Evaluator does, folded once per evaluation (here: per run); --no-fold measures the unfolded model.
        using var folded = o.Loop == "raw" || o.NoFold ? null : BatchNormFolding.Fold(model, o.ChannelsLast);
        void Step()
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            if (o.Loop == "raw")
            {
                sum += model.forward(input.Prepare(x, Device)).sum().item<float>();
            }
            else
            {
                metrics.Add(model.call(input.Prepare(x, Device)), y);
            }
            Sync();
        }
        var cpu = new List<double>();
        var times = TimeSteps(o, Step, cpu);
        Emit("eval", o, times, new() { ["sum"] = sum, ["cpu_s"] = cpu, ["cpu_s_median"] = Median(cpu) });
        return 0;
    }

    private static void Sync()
    {
        if (Device.type == DeviceType.CUDA)
            cuda.synchronize();
    }

    /// <summary>Wall seconds per step, and process CPU seconds per step in <paramref name="cpu"/> (robust to load from other processes).</summary>
    private static List<double> TimeSteps(Options o, Action step, List<double> cpu)
    {
        Trace("ready"); // runtime, LibTorch, model, optimizer and inputs, before the first step
        if (Environment.GetEnvironmentVariable("BENCH_SMAPS") is { Length: > 0 } smaps)
            File.Copy("/proc/self/smaps", smaps, overwrite: true); // what the resident memory is made of (scripts/smaps-split.py)
        for (int i = 0; i < o.Warmup; i++)
            step();
        var times = new List<double>();
        for (int i = 0; i < o.Steps; i++)
        {
            var c0 = Environment.CpuUsage.TotalTime;
            var sw = Stopwatch.StartNew();
            step();
            times.Add(sw.Elapsed.TotalSeconds);
            cpu.Add((Environment.CpuUsage.TotalTime - c0).TotalSeconds);
        }
        return times;
    }

    private static double Median(List<double> v)
    {
        var s = v.OrderBy(t => t).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static int Epoch(Options o)
    {
        var dataset = Datasets.Open(DatasetKind.ImageFolder, o.Dir);
        var options = MakeOptions(o);
        var all = Enumerable.Range(0, dataset.Samples.Count).ToArray();
        // All images train; validation runs on one batch so that the epoch time is dominated by training.
        var validationIndices = all.Take(o.Batch).ToArray();
        var trainPipeline = new InputPipeline(o.Size, Augment: true, Normalization.ImageNet);
        var evalPipeline = new InputPipeline(o.Size, Augment: false, Normalization.ImageNet);
        using var train = new DataLoader(dataset, all, trainPipeline, o.Batch, shuffle: true, 1, o.LoaderThreads);
        using var validation = new DataLoader(dataset, validationIndices, evalPipeline, o.Batch, shuffle: false, 1, o.LoaderThreads);
        TorchRuntime.Seed(1);
        var model = Zoo.Create(Choice.Parse<ModelKind>(o.Model), dataset.Classes.Count);
        var checkpoints = Path.Combine(Path.GetTempPath(), $"repro-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(checkpoints);
        var rss = new List<double>();
        var hwm = new List<double>();
        var cpu = new List<double>();
        var cpu0 = Environment.CpuUsage.TotalTime;
        var progress = new EpochEndProgress(() =>
        {
            rss.Add(ProcStatusMb("VmRSS"));
            hwm.Add(ProcStatusMb("VmHWM"));
            var now = Environment.CpuUsage.TotalTime;
            cpu.Add((now - cpu0).TotalSeconds);
            cpu0 = now;
        });
        try
        {
            var checkpoint = new TrainingCheckpoint(ExperimentLayout.ForRun(checkpoints), new CheckpointKey("bench", "", "", ""));
            var trainer = new Trainer(options, 1, model, t => model.train(t), CPU, checkpoint, progress, new InputFormat(ScalarType.Float32, o.ChannelsLast));
            var history = trainer.Run(train, validation, dataset.Classes);
            var rates = history.Select(h => h.ImagesPerSecond).ToList();
            var seconds = history.Select(h => all.Length / h.ImagesPerSecond).ToList();
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["side"] = Side(o), ["mode"] = "epoch", ["model"] = o.Model, ["size"] = o.Size, ["batch"] = o.Batch,
                ["threads"] = o.Threads, ["loader_threads"] = o.LoaderThreads, ["images"] = all.Length, ["channels_last"] = o.ChannelsLast,
                ["epoch_images_per_s"] = rates, ["epoch_train_s"] = seconds,
                ["rss_mb_per_epoch"] = rss, ["epoch_cpu_s"] = cpu, ["hwm_mb_per_epoch"] = hwm, ["rss_peak_mb"] = ProcStatusMb("VmHWM"),
            }));
        }
        finally
        {
            Directory.Delete(checkpoints, true);
        }
        return 0;
    }

    /// <summary>Calls back when the last batch of an epoch is reported (memory is sampled at each epoch's end).</summary>
    private sealed class EpochEndProgress(Action onEpochEnd) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value)
        {
            if (value.Batch == value.Batches)
                onEpochEnd();
        }
    }

    private static string Side(Options o) => o.Loop == "raw" ? "raw" : o.Numerics == NumericsMode.Portable ? "portable" : "repro";

    private static void Emit(string mode, Options o, List<double> times, Dictionary<string, object> extra)
    {
        double median = Median(times);
        var d = new Dictionary<string, object>
        {
            ["side"] = Side(o), ["mode"] = mode, ["model"] = o.Model, ["size"] = o.Size,
            ["batch"] = o.Batch, ["threads"] = o.Threads, ["channels_last"] = o.ChannelsLast, ["strided_downsample"] = o.StridedDownsample, ["channels_last_weights"] = o.ChannelsLastWeights, ["device"] = Device.ToString(), ["mallopt"] = o.MallOpt, ["fold_batchnorm"] = mode == "eval" && o.Loop != "raw" && !o.NoFold, ["torch_huge_pages"] = Allocator.TorchHugePagesInEffect(),
            // What an experiment runs here when it does not set channels_last, for bench-table.py's defaults table: the
            // schema's default unless this platform's layout table row refuses it (then the run goes NCHW).
            ["repro_default_channels_last"] = (bool)Schema.FindExperimentKey("channels_last")!.Default!
                && InputFormat.ChannelsLastRefusal(Device.type, X86Cpu.Current(), TorchRuntime.OneDnnEnabled != false) is null,
            ["step_s"] = times, ["step_s_median"] = median, ["images_per_s"] = o.Batch / median, ["rss_peak_mb"] = ProcStatusMb("VmHWM"),
        };
        foreach (var (k, v) in extra)
            d[k] = v;
        Console.WriteLine(JsonSerializer.Serialize(d));
    }

    /// <summary>BENCH_MEMTRACE=1: resident memory at each point of a training step, on stderr (where the peak comes from).</summary>
    private static void Trace(string point)
    {
        if (Environment.GetEnvironmentVariable("BENCH_MEMTRACE") == "1")
        {
            var heap = MallInfo2();
            // glibc's own account: memory in use in its arenas, free memory it keeps there, and chunks mapped apart.
            Console.Error.WriteLine(FormattableString.Invariant($"memtrace {point}: rss {ProcStatusMb("VmRSS"):F0} MB, peak {ProcStatusMb("VmHWM"):F0} MB, malloc in use {heap.InUse / 1048576.0:F0} MB, free kept {heap.Free / 1048576.0:F0} MB, mapped {heap.Mapped / 1048576.0:F0} MB"));
        }
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct MallInfo
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, Mapped, UsmBlks, FsmBlks, InUse, Free, KeepCost;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo MallInfo2();

    internal static double ProcStatusMb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        return 0;
    }
}
