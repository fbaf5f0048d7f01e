/// Entry point: parse, dispatch, and map failures to a message and an exit code.
module Repro.Experiments.Program

open System
open System.IO
open Argu
open Repro.Experiments.Arguments
open Repro.Experiments.Commands

/// Exit codes the MSBuild tasks and scripts rely on.
[<RequireQualifiedAccess>]
module ExitCode =
    let Ok = 0
    let Failed = 1
    let Usage = 2
    let Config = 3
    let Data = 4
    /// Stopped by Ctrl+C (128 + SIGINT, as shells report it).
    let Interrupted = 130

let private dispatch (results: ParseResults<Command>) =
    match results.GetSubCommand() with
    | Split args -> split args
    | Train args -> train args
    | Test args -> test args
    | Run args -> run args
    | Lesion args -> lesion args
    | Summary args -> summary args
    | Validate args -> validate args
    | Platform args -> platform args
    | Diff_Plots args -> diffPlots args
    | Parity args -> parity args
    | Numerics_Probe args -> numericsProbe args

/// "sample-resnet50: stage 'train': " for the stage commands, so an error says where it happened (the stage running
/// when it failed, for a command with --later-stages).
let private where (results: ParseResults<Command>) =
    let stage name (args: ParseResults<StageArgs>) =
        let run =
            match args.TryGetResult StageArgs.Run_Stamp, args.TryGetResult StageArgs.Experiment, args.TryGetResult StageArgs.Seed with
            | Some stamp, _, _ ->
                // A stamp that cannot be read is reported by the command itself; the prefix then names the file.
                try (Repro.Config.ScheduledRun.Read stamp).Name with _ -> stamp
            // A negative seed is the error being reported, not a run: "a/seed--1" would name a folder that never exists.
            | None, Some experiment, Some seed when seed >= 0 -> sprintf "%s/seed-%d" experiment seed
            | None, Some experiment, _ -> experiment
            | None, None, _ -> "?"
        sprintf "%s: stage '%s': " run (if runningStage <> "" then runningStage else name)
    match results.GetSubCommand() with
    | Split args -> stage "split" args
    | Train args -> stage "train" args
    | Test args -> stage "test" args
    | Run args -> stage "run" args
    | Lesion args -> stage "lesion" args
    | Summary _
    | Validate _
    | Platform _
    | Diff_Plots _
    | Parity _ -> ""
    | Numerics_Probe _ -> ""

let private verbose (results: ParseResults<Command>) =
    let stageVerbose =
        match results.GetSubCommand() with
        | Split args | Train args | Test args | Run args | Lesion args -> args.Contains StageArgs.Verbose
        | Summary _ | Validate _ | Platform _ | Diff_Plots _ | Parity _ | Numerics_Probe _ -> false
    stageVerbose || Environment.GetEnvironmentVariable "REPRO_VERBOSE" = "1"

/// One line, "error: <experiment>: stage '<stage>': <message>": LibTorch's C++ frame dump only when verbose,
/// after the line, with the .NET stack.
let private report (prefix: string) (isVerbose: bool) (e: exn) code =
    let e =
        match e with
        | :? AggregateException as a when a.InnerExceptions.Count = 1 -> a.InnerExceptions[0]
        | _ -> e
    let message =
        match e with
        // The core's ArgumentExceptions are bad settings; " (Parameter 'head')" says nothing to the user.
        | :? ArgumentException as a when not (isNull a.ParamName) -> a.Message.Replace(sprintf " (Parameter '%s')" a.ParamName, "")
        | _ -> e.Message
    eprintfn "error: %s%s" prefix (Repro.Core.Engine.LibTorchErrors.Summary message)
    if isVerbose then eprintfn "%O" e
    code

[<EntryPoint>]
let main argv =
    let parser = ArgumentParser.Create<Command>(programName = "Repro.Experiments", errorHandler = ProcessExiter())
    // Parse errors print the usage and exit 2 here (ProcessExiter); everything after is the command's own failure.
    let results = parser.ParseCommandLine argv
    let isVerbose = verbose results
    try
        dispatch results
    with
    | ConfigInvalid errors ->
        for e in errors do eprintfn "%O" e
        ExitCode.Config
    | :? Repro.Core.Data.DataException
    | :? FileNotFoundException
    | :? InvalidDataException as e -> report (where results) isVerbose e ExitCode.Data
    | :? OperationCanceledException ->
        eprintfn "interrupted: the last complete epoch is checkpointed; run the same command again to resume"
        ExitCode.Interrupted
    // An unknown model, head or device reaching the core: a settings problem, not a command-line one, so no usage.
    | :? ArgumentException as e -> report (where results) isVerbose e ExitCode.Config
    | e -> report (where results) isVerbose e ExitCode.Failed
