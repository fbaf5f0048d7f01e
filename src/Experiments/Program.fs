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

[<EntryPoint>]
let main argv =
    let parser = ArgumentParser.Create<Command>(programName = "Repro.Experiments", errorHandler = ProcessExiter())
    try
        dispatch (parser.ParseCommandLine argv)
    with
    | ConfigInvalid errors ->
        for e in errors do eprintfn "%O" e
        ExitCode.Config
    | :? Repro.Core.Data.DataException as e ->
        eprintfn "error: %s" e.Message
        ExitCode.Data
    | :? FileNotFoundException as e ->
        eprintfn "error: %s" e.Message
        ExitCode.Data
    | :? InvalidDataException as e ->
        eprintfn "error: %s" e.Message
        ExitCode.Data
    | :? OperationCanceledException ->
        eprintfn "interrupted: the last complete epoch is checkpointed; run the same command again to resume"
        ExitCode.Interrupted
    | :? ArgumentException as e ->
        eprintfn "error: %s" e.Message
        ExitCode.Usage
    | e ->
        eprintfn "error: %s" e.Message
        ExitCode.Failed
