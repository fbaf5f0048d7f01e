/// The commands: each reads experiments.yaml through Repro.Config and calls the C# core.
module Repro.Experiments.Commands

open System
open System.IO
open System.Threading
open Argu
open Repro.Config
open Repro.Core
open Repro.Experiments.Arguments

/// experiments.yaml had errors: all of them, already formatted as file(line,col): error CODE: message.
exception ConfigInvalid of ConfigError list

let private load (path: string) =
    let file = ExperimentsFile.Load path
    if file.Errors.Count > 0 then raise (ConfigInvalid(List.ofSeq file.Errors))
    file

let private configPath (args: ParseResults<StageArgs>) =
    Path.GetFullPath(args.GetResult(StageArgs.Config, defaultValue = "experiments.yaml"))

/// The run to execute. From the build: its run stamp, the typed spec it scheduled (the host never re-reads the YAML
/// then, so the two cannot disagree). By hand: the experiment's entry in experiments.yaml, scheduled the same way
/// (ScheduledRun.Create, which the build's ReadExperiments calls too).
let private scheduled (args: ParseResults<StageArgs>) =
    let run =
        match args.TryGetResult StageArgs.Run_Stamp, args.TryGetResult StageArgs.Experiment with
        | Some stamp, _ -> ScheduledRun.Read(Path.GetFullPath stamp)
        | None, None -> raise (ArgumentException "give --run-stamp <stamps/run.json> or --experiment <name>")
        | None, Some name ->
            let path = configPath args
            let file = load path
            let experiment =
                match file.Experiments |> Seq.tryFind (fun e -> e.Name = name) with
                | Some e -> e
                | None ->
                    let known = file.Experiments |> Seq.map (fun e -> e.Name) |> String.concat ", "
                    raise (ConfigInvalid [ ConfigError(path, 1, 1, ErrorCodes.NoSuchExperiment, sprintf "no experiment named '%s' (defined: %s)" name known) ])
            // One run of a seed sweep executes the experiment with that seed, in the seed's folder.
            let seed =
                match args.TryGetResult StageArgs.Seed with
                | Some seed when seed < 0 -> raise (ArgumentException(sprintf "--seed must be 0 or more, not %d" seed))
                | Some seed -> Nullable(uint64 seed)
                | None -> Nullable()
            let baseDir =
                match Path.GetDirectoryName path with
                | null -> "."
                | dir -> dir
            ScheduledRun.Create(path, experiment, seed, Path.Combine(baseDir, "artifacts"))
    match args.TryGetResult StageArgs.Output with
    | Some dir -> run.WithOutput dir
    | None -> run

let private runner (args: ParseResults<StageArgs>) =
    let run = scheduled args
    let log (line: string) = printfn "%s: %s" run.Name line
    ExperimentRunner(run, Progress.reporter (), Action<string>(log)), run.Name

let private printMetrics (name: string) (m: Repro.Core.Engine.TestMetrics) (report: string) =
    printfn "%s: test accuracy %.2f%% (%d/%d), loss %.4f -> %s" name (100.0 * m.Accuracy) m.Correct m.Count m.Loss report

/// Ctrl+C stops training before the next batch, keeping the last complete epoch's checkpoint (the next train
/// resumes from it); a second Ctrl+C ends the process at once.
let private interruptible () =
    let stop = new CancellationTokenSource()
    Console.CancelKeyPress.Add(fun e ->
        if not stop.IsCancellationRequested then
            e.Cancel <- true
            eprintfn "stopping before the next batch; Ctrl+C again to quit at once"
            stop.Cancel())
    stop.Token

/// The stage running now, for the error line: a command with --later-stages moves through several.
let mutable runningStage = ""

/// The stages in their order: each reads what the one before it wrote.
let private stageOrder = [ "split"; "train"; "test" ]

/// Runs <paramref name="names"/> in order on one runner: LibTorch, the dataset and the runner's state (the last
/// validation of a train stage, which the test stage after it reuses) are set up once. With <paramref name="announce"/>,
/// a line "<run>: stage <name>" before each, which the build reads to say which stage is running.
let private runStages (names: string list) (announce: bool) (args: ParseResults<StageArgs>) =
    let r, name = runner args
    for stage in names do
        runningStage <- stage
        if announce then
            printfn "%s: stage %s" name stage
            Console.Out.Flush()
        match stage with
        | "split" -> r.Split() |> ignore
        | "train" ->
            let record = r.Train(args.Contains StageArgs.Discard_Stale_Checkpoint, interruptible ())
            match Seq.tryLast record.History with
            | Some h -> printfn "%s: trained %d epochs in %.1f s (train accuracy %.2f%%)" name record.History.Count record.Seconds (100.0 * h.TrainAccuracy)
            | None -> printfn "%s: 0 epochs asked for; model saved untrained" name
        | _ ->
            let m = r.Test()
            printMetrics name m r.Layout.Report
    0

/// A stage command: the stage alone, or with --later-stages every stage from it on (how the build runs a stale
/// stage: it rewrites what the next one reads, so each later stage is stale too).
let private stage (first: string) (args: ParseResults<StageArgs>) =
    if args.Contains StageArgs.Later_Stages then runStages (stageOrder |> List.skipWhile ((<>) first)) true args
    else runStages [ first ] false args

let split args = stage "split" args

let train args = stage "train" args

let test args = stage "test" args

let run args = runStages stageOrder false args

let lesion args =
    let r, name = runner args
    let table = r.Lesion()
    printfn "%s" table
    printfn "%s: lesion study -> %s" name r.Layout.Lesion
    0

let summary (args: ParseResults<SummaryArgs>) =
    let model = args.GetResult SummaryArgs.Model
    let classes = args.GetResult(SummaryArgs.Num_Classes, defaultValue = 10)
    let size = args.GetResult(SummaryArgs.Input_Size, defaultValue = 224)
    let head = args.GetResult(SummaryArgs.Head, defaultValue = HeadKind.Linear)
    let freeze = args.GetResult(SummaryArgs.Freeze, defaultValue = FreezeMode.None)
    use built = Repro.Core.Models.ModelBuilder.Build(model, classes, head, freeze, null)
    let s = Repro.Core.Models.ModelSummary.Create(built.Module, 3L, int64 size, int64 size)
    printf "%s" (s.Render())
    0

let validate (args: ParseResults<ValidateArgs>) =
    let path = Path.GetFullPath(args.GetResult(ValidateArgs.Config, defaultValue = "experiments.yaml"))
    let file = load path
    for e in file.Experiments do
        printfn "%-32s %-12s %-12s %s" e.Name e.Dataset.Name (Choice.Name e.Model.Architecture) (String.Join(",", e.Tags))
    printfn "%s: %d experiments, %d datasets, no errors" path file.Experiments.Count file.Datasets.Count
    0

/// Prints the numerics platform a run with these settings would record (metrics.json's "platform"), configured as
/// an experiment's test stage configures LibTorch, so the id matches the one an experiment would write.
let platform (args: ParseResults<PlatformArgs>) =
    let threads = args.GetResult(PlatformArgs.Threads, defaultValue = 2)
    let numerics = args.GetResult(PlatformArgs.Numerics, defaultValue = NumericsMode.Native)
    Repro.Core.Engine.PortableNumerics.Apply numerics
    let device = Repro.Core.Engine.TorchRuntime.ResolveDevice(args.GetResult(PlatformArgs.Device, defaultValue = DeviceChoice.Cpu))
    Repro.Core.Engine.TorchRuntime.Configure(threads, device, not (args.Contains PlatformArgs.No_Tf32)) |> ignore
    let p = Repro.Core.Engine.NumericsPlatform.Current(device, numerics)
    if args.Contains PlatformArgs.Json then printf "%s" (p.ToJson())
    else
        printf "%s" (p.Render())
        // Not a field of the record (the id hashes those): the table decides it from them.
        printfn "\n%s" (Repro.Core.Engine.LayoutTable.Describe(Repro.Core.Engine.LayoutTable.For p))
    0

/// DiffExperiments' plots: reads two results snapshots (no training, no TorchSharp) and draws their differences.
let diffPlots (args: ParseResults<DiffPlotsArgs>) =
    let read (path: string) =
        try ResultsSnapshot.Parse(File.ReadAllText path)
        with :? InvalidDataException as e -> raise (InvalidDataException(sprintf "%s: %s" path e.Message))
    let baseSnapshot = read (args.GetResult DiffPlotsArgs.Base)
    let headSnapshot = read (args.GetResult DiffPlotsArgs.Head)
    let baseLabel = args.GetResult(DiffPlotsArgs.Base_Label, defaultValue = "base")
    let headLabel = args.GetResult(DiffPlotsArgs.Head_Label, defaultValue = "head")
    let curves = args.GetResult DiffPlotsArgs.Curves
    Repro.Core.Reports.Plots.CurvesDiff(curves, headSnapshot.Experiment, baseLabel, baseSnapshot, headLabel, headSnapshot)
    printfn "%s: curves -> %s" headSnapshot.Experiment curves
    match args.TryGetResult DiffPlotsArgs.Confusion with
    | Some png ->
        Repro.Core.Reports.Plots.ConfusionDiff(png, headSnapshot.Experiment, baseLabel, baseSnapshot, headLabel, headSnapshot)
        printfn "%s: confusion change -> %s" headSnapshot.Experiment png
    | None -> ()
    0

/// The deterministic checks against PyTorch, written as one markdown section; exit code 1 when any case or test differs
/// (the section is written either way, so that the difference is on record).
let parity (args: ParseResults<ParityArgs>) =
    let python = args.GetResult(ParityArgs.Python, defaultValue = Repro.Core.Validation.ReferencePython.Default)
    let scripts = Path.GetFullPath(args.GetResult ParityArgs.Scripts)
    let markdown = args.GetResult ParityArgs.Markdown
    let struct (section, failures) = Repro.Core.Validation.ParityReport.Run(python, scripts, Action<string>(printfn "%s"))
    Repro.Config.IO.AtomicFile.WriteAllText(markdown, section)
    printfn "parity: %s (%d failing)" markdown failures
    if failures = 0 then 0 else 1

/// The numerics probe: LibTorch configured as an experiment's stage configures it (threads, deterministic
/// algorithms), then the switches asked for; environment variables (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA,
/// MKL_CBWR) act as LibTorch reads them.
let numericsProbe (args: ParseResults<ProbeArgs>) =
    let threads = args.GetResult(ProbeArgs.Threads, defaultValue = 2)
    let numerics = args.GetResult(ProbeArgs.Numerics, defaultValue = NumericsMode.Native)
    Repro.Core.Engine.PortableNumerics.Apply numerics
    let device = Repro.Core.Engine.TorchRuntime.ResolveDevice DeviceChoice.Cpu
    Repro.Core.Engine.TorchRuntime.Configure(threads, device, true) |> ignore
    let require (what: string) (result: Nullable<bool>) =
        if not result.HasValue then failwithf "%s: LibTorch's switch is not reachable here" what
    if args.Contains ProbeArgs.No_Onednn then require "--no-onednn" (Repro.Core.Engine.TorchRuntime.SetOneDnnEnabled false)
    if args.Contains ProbeArgs.No_Nnpack then require "--no-nnpack" (Repro.Core.Engine.TorchRuntime.SetNnpackEnabled false)
    if args.Contains ProbeArgs.No_Deterministic then Repro.Core.Engine.TorchRuntime.SetDeterministicAlgorithms false |> ignore
    let items = args.TryGetResult ProbeArgs.Items |> Option.map (fun l -> l :> seq<string>) |> Option.toObj
    let marker = Action<string>(fun item -> if args.Contains ProbeArgs.Item_Markers then printfn "# probe-item %s" item)
    let results = Repro.Core.Engine.NumericsProbe.Run(items, marker)
    let settings = Repro.Core.Engine.NumericsProbe.Settings numerics
    if args.Contains ProbeArgs.Json then printf "%s" (Repro.Core.Engine.NumericsProbe.ToJson(settings, results))
    else printf "%s" (Repro.Core.Engine.NumericsProbe.Render(settings, results))
    0
