/// Training progress for people: refreshed in place on a terminal, a few plain lines otherwise (MSBuild logs).
module Repro.Experiments.Progress

open System
open Repro.Core.Engine

let private format (p: TrainProgress) =
    let remaining = if p.Remaining.TotalHours >= 1.0 then p.Remaining.ToString(@"h\:mm\:ss") else p.Remaining.ToString(@"m\:ss")
    sprintf "epoch %d/%d  batch %d/%d  loss %.4f  %.1f img/s  %s left" p.Epoch p.Epochs p.Batch p.Batches p.Loss p.ImagesPerSecond remaining

/// On a terminal: one line redrawn in place with a bar. Redirected: a line at each tenth of an epoch.
let reporter () : IProgress<TrainProgress> =
    if Console.IsOutputRedirected then
        let mutable lastTenth = -1
        // Reported synchronously: System.Progress would post to the thread pool and could reorder lines.
        { new IProgress<TrainProgress> with
            member _.Report p =
                let tenth = p.Batch * 10 / max 1 p.Batches
                if tenth <> lastTenth || p.Batch = p.Batches then
                    lastTenth <- if p.Batch = p.Batches then -1 else tenth
                    Console.Out.WriteLine(format p)
                    Console.Out.Flush() }
    else
        { new IProgress<TrainProgress> with
            member _.Report p =
                let width = 24
                let filled = p.Batch * width / max 1 p.Batches
                let bar = String('#', filled) + String('.', width - filled)
                Console.Write(sprintf "\r[%s] %s   " bar (format p))
                if p.Batch = p.Batches then Console.WriteLine() }
