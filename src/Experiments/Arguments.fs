/// Command-line arguments, Argu style: one union per command, each case with its usage text.
module Repro.Experiments.Arguments

open Argu
open Repro.Config

/// Selects one run: the build's run stamp, or an experiment of experiments.yaml by name.
type StageArgs =
    | [<AltCommandLine("-r")>] Run_Stamp of path: string
    | [<AltCommandLine("-c")>] Config of path: string
    | [<AltCommandLine("-e")>] Experiment of name: string
    | [<AltCommandLine("-o")>] Output of dir: string
    | Seed of seed: int
    | Discard_Stale_Checkpoint
    | Later_Stages
    | Verbose

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Stamp _ -> "a run as the build scheduled it (artifacts/experiments/<name>/stamps/run.json): the typed settings, seed and folders; how the build calls the host."
            | Config _ -> "experiments.yaml to read (default: ./experiments.yaml), without --run-stamp."
            | Experiment _ -> "name of the experiment to run, without --run-stamp."
            | Output _ -> "output folder (default: artifacts/experiments/<name> beside the config, <name>/seed-<s> for a seed of a sweep)."
            | Seed _ -> "run with this seed instead of the experiment's own (one run of a 'seeds:' sweep)."
            | Discard_Stale_Checkpoint -> "train: delete a checkpoint written for another configuration instead of failing."
            | Later_Stages -> "split, train: also run the stages after this one (train and test, or test), in this process, each announced by a line '<run>: stage <name>'; how the build runs a stale stage, since it makes every later stage stale."
            | Verbose -> "on an error, also print LibTorch's C++ frames and the .NET stack (or set REPRO_VERBOSE=1)."

type SummaryArgs =
    | [<MainCommand; Mandatory>] Model of ModelKind
    | Num_Classes of count: int
    | Input_Size of pixels: int
    | Head of HeadKind
    | Freeze of FreezeMode

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "architecture."
            | Num_Classes _ -> "number of classes (default 10)."
            | Input_Size _ -> "input height and width in pixels (default 224: input 3x224x224)."
            | Head _ -> "classifier head (default linear; seed: the tutorial's MLP)."
            | Freeze _ -> "what trains (default none; backbone: only the head)."

type ValidateArgs =
    | [<AltCommandLine("-c")>] Config of path: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Config _ -> "experiments.yaml to check (default: ./experiments.yaml)."

type PlatformArgs =
    | Threads of count: int
    | Device of DeviceChoice
    | No_Tf32
    | Numerics of NumericsMode
    | Json

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Threads _ -> "LibTorch intra-op threads, as an experiment's `threads` (default 2, the experiments' default)."
            | Device _ -> "as an experiment's `device` (default cpu)."
            | No_Tf32 -> "CUDA: TF32 off, as an experiment with `tf32: false` (default: on, the experiments' default)."
            | Numerics _ -> "as an experiment's `numerics` (default native; portable: the id every x86-64-v3 CPU shares)."
            | Json -> "print the fields as a JSON object (as in metrics.json) instead of aligned text."

/// The deterministic checks against PyTorch (training steps, initialisation, augmentation) and where their section goes.
type ParityArgs =
    | Python of path: string
    | [<Mandatory>] Scripts of dir: string
    | [<Mandatory>] Markdown of path: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Python _ -> "the Python with torch and torchvision (default /usr/bin/python3, Debian's python3-torchvision)."
            | Scripts _ -> "the repository's scripts/ folder: step-parity.yaml, step-parity.py, distribution-samples.py."
            | Markdown _ -> "markdown file to write: the step-parity table and the distribution checks (RunTwins puts it into docs/validation*.md)."

/// The numerics probe: which settings and kernels decide the float bits here (docs/numerics.md).
type ProbeArgs =
    | Threads of count: int
    | Numerics of NumericsMode
    | No_Onednn
    | No_Nnpack
    | No_Deterministic
    | Items of names: string list
    | Item_Markers
    | Json

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Threads _ -> "LibTorch intra-op threads (default 2, the experiments' default)."
            | Numerics _ -> "as an experiment's `numerics` (default native: LibTorch as it starts, with the switches below)."
            | No_Onednn -> "turn LibTorch's oneDNN off (at::Context::setUserEnabledMkldnn(false)): ATen's own convolutions (im2col + MKL GEMM)."
            | No_Nnpack -> "turn NNPACK off (at::Context::setUserEnabledNNPACK(false))."
            | No_Deterministic -> "leave LibTorch's deterministic algorithms off (experiments turn them on)."
            | Items _ ->
                sprintf "run only these items (default: all of %s; on request only: %s, whose backward dies with SIGFPE in oneDNN on CPUs hiding their caches)."
                    (String.concat ", " Repro.Core.Engine.NumericsProbe.Items) (String.concat ", " Repro.Core.Engine.NumericsProbe.OnRequestItems)
            | Item_Markers -> "print '# probe-item <name>' to stdout before each item, so that ONEDNN_VERBOSE lines can be attributed (scripts/numerics-table.py)."
            | Json -> "print the settings and hashes as one JSON object instead of aligned text."

/// Two results snapshots (results/<experiment>.md) to draw the differences of.
type DiffPlotsArgs =
    | [<Mandatory>] Base of path: string
    | [<Mandatory>] Head of path: string
    | Base_Label of text: string
    | Head_Label of text: string
    | [<Mandatory>] Curves of png: string
    | Confusion of png: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Base _ -> "the old side's snapshot, e.g. results/<experiment>.md at the base revision."
            | Head _ -> "the new side's snapshot."
            | Base_Label _ -> "the old side's name in legends and titles (default: base)."
            | Head_Label _ -> "the new side's name (default: head)."
            | Curves _ -> "PNG to write: both sides' training curves overlaid."
            | Confusion _ -> "PNG to write: the confusion matrix change, head minus base (needs the same classes)."

type Command =
    | [<CliPrefix(CliPrefix.None)>] Split of ParseResults<StageArgs>
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<StageArgs>
    | [<CliPrefix(CliPrefix.None)>] Test of ParseResults<StageArgs>
    | [<CliPrefix(CliPrefix.None)>] Run of ParseResults<StageArgs>
    | [<CliPrefix(CliPrefix.None)>] Lesion of ParseResults<StageArgs>
    | [<CliPrefix(CliPrefix.None)>] Summary of ParseResults<SummaryArgs>
    | [<CliPrefix(CliPrefix.None)>] Validate of ParseResults<ValidateArgs>
    | [<CliPrefix(CliPrefix.None)>] Platform of ParseResults<PlatformArgs>
    | [<CliPrefix(CliPrefix.None)>] Diff_Plots of ParseResults<DiffPlotsArgs>
    | [<CliPrefix(CliPrefix.None)>] Parity of ParseResults<ParityArgs>
    | [<CliPrefix(CliPrefix.None)>] Numerics_Probe of ParseResults<ProbeArgs>

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Split _ -> "write the experiment's split manifest (official or seeded, stratified)."
            | Train _ -> "train the experiment (resumes from its last complete epoch)."
            | Test _ -> "test the trained model; write metrics.json, history.csv, report.md and plots."
            | Run _ -> "split, train and test in one go."
            | Lesion _ -> "ResNet lesion study: test accuracy with each residual block removed."
            | Summary _ -> "print a model summary in torchsummary's format."
            | Validate _ -> "check experiments.yaml and list its experiments."
            | Platform _ -> "print this machine's numerics platform: what decides the float bits, and its id."
            | Diff_Plots _ -> "draw two results snapshots' differences (training curves, confusion change) as PNGs; used by DiffExperiments."
            | Parity _ -> "training steps, initialisation and augmentation against PyTorch (exit code 1 if any differs); used by TwinExperiments."
            | Numerics_Probe _ -> "hash a convolution, a linear layer and a ResNet50 and DenseNet121 training step on fixed data: compare the hashes across CPUs and settings (docs/numerics.md)."
