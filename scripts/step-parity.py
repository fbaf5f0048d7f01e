#!/usr/bin/env python3
"""PyTorch side of Repro's training-step parity check: the same recipes, the same initial weights and the same
random-noise batches, a few optimisation steps each, every number Repro must reproduce written down.

Usage: step-parity.py DIR

DIR/manifest.json (written by Repro's StepParity.WriteManifest) lists the cases: each a recipe as a train stamp
(the canonical settings of stamps/train.json, which scripts/twin.py reads too), the number of steps to take and
the steps per epoch the schedule assumes. This script writes, in torch.save's zip format:

  DIR/init/<model>-<head>-<batch>x<crop>.pth
                                the initial state_dict: torchvision's initialisation (seeded), BatchNorm made to look
                                trained (see initial_weights); the seed head with PyTorch's default Linear init
  DIR/inputs/<batch>x<crop>.pth {"x": (steps, batch, 3, crop, crop) standard normal noise, "y": (steps, batch) labels}:
                                noise has no ties, so max-pool and ReLU pick the same elements on both sides
  DIR/reference/<case>.pth      "loss" (steps), "lr" (every step of the whole schedule, epochs x steps per epoch),
                                "grad/<name>" for every trainable parameter after step 1 (after clipping, which is
                                what the update used), "after/<name>" for every state_dict entry after the last step;
                                computed with the stamp's thread count
  DIR/noise/<case>.pth          the same with another thread count (1, or 2 where the stamp says 1): only the float32
                                summation order changes, so its distance from reference/ is PyTorch's own float32
                                noise on this recipe, the yardstick Repro's distance is measured against

The recipes run through twin.py's own functions (build_model, freeze_backbone, optimizer_for, scheduler_for,
set_train_mode, train_step): the step checked here is the twin's step. Dropout is set to p = 0 on the seed head's
Dropout (ResNet50), as Repro's side does, so that no random mask enters the comparison.
Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14).
"""
import copy
import json
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twin import build_model, freeze_backbone, optimizer_for, scheduler_for, set_train_mode, train_step  # noqa: E402


def save(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def dropout_off(model):
    """p = 0 on every Dropout: the mask would come from each side's own generator."""
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0


def initial_weights(root, s, classes, written):
    """The case's initial model, built and written once per (model, head, batch, crop): torchvision's initialisation, then
    BatchNorm made to look trained. Its weights and biases are drawn around torchvision's 1 and 0, except the last
    BatchNorm of each ResNet residual branch, drawn in [0, 0.2] (torchvision's zero_init_residual, softened): with
    weight 1, BatchNorm's gradient explosion at initialisation (Yang et al., "A Mean Field Theory of Batch
    Normalization", 2019) makes ResNet50's step-1 gradients on 8-image batches move by 16 % when the initial weights
    move by one float32 ulp, and no two float32 implementations could then agree after one step. The running statistics
    are those of four noise batches (cumulative average), so that evaluation-mode BatchNorm sees statistics that match
    its input, as a pretrained backbone's do."""
    key = f"{s['model']}-{s['head']}-{s['batch']}x{s['crop']}"
    path = os.path.join(root, "init", key + ".pth")
    if key not in written:
        torch.manual_seed(len(written))
        model, classifier, _ = build_model({**s, "freeze": "none", "pretrained": None}, classes)
        norms = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
        g = torch.Generator().manual_seed(54321)
        with torch.no_grad():
            for name, m in norms:
                if name.endswith(".bn3"):
                    m.weight.uniform_(0.0, 0.2, generator=g)
                else:
                    m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
                m.reset_running_stats()
                m.momentum = None
            model.train()
            for _ in range(4):
                model(torch.randn(int(s["batch"]), 3, int(s["crop"]), int(s["crop"]), generator=g))
            for _, m in norms:
                m.momentum = 0.1
        save(model.state_dict(), path)
        written[key] = (model, classifier)
    return written[key]


def inputs(root, s, steps, classes, written):
    key = f"{s['batch']}x{s['crop']}"
    if key not in written:
        g = torch.Generator().manual_seed(12345)
        batch, crop = int(s["batch"]), int(s["crop"])
        x = torch.randn(steps, batch, 3, crop, crop, generator=g)
        y = torch.randint(0, classes, (steps, batch), generator=g)
        save({"x": x, "y": y}, os.path.join(root, "inputs", key + ".pth"))
        written[key] = (x, y)
    return written[key]


def trajectory(s, init, x, y, steps, per_epoch):
    """The case's steps in PyTorch: losses, every step's rate, step-1 gradients, final state_dict."""
    # A copy of the initial model rather than a new one loaded with its state: the same tensors, without drawing a new
    # initialisation first, which took longer than the steps.
    model, classifier = copy.deepcopy(init[0]), init[1]
    if s["freeze"] == "backbone":
        freeze_backbone(model, classifier)
    dropout_off(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = optimizer_for(s, trainable)
    scheduler = scheduler_for(opt, s, per_epoch)
    frozen = s["freeze"] == "backbone" and not s.get("frozen_bn_train")
    out, losses, lrs = {}, [], []
    for k in range(steps):
        set_train_mode(model, classifier, frozen)
        lrs.append(opt.param_groups[0]["lr"])
        _, loss = train_step(model, opt, x[k], y[k], s)
        losses.append(loss.item())
        if k == 0:
            out.update({f"grad/{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad})
        if scheduler is not None:
            scheduler.step()
    # The model is not used after this: its tensors need no copy.
    out.update({f"after/{n}": t.detach() for n, t in model.state_dict().items()})
    # The rest of the schedule, without training: every step's rate is compared.
    for _ in range(steps, int(s["epochs"]) * per_epoch):
        lrs.append(opt.param_groups[0]["lr"])
        if scheduler is not None:
            scheduler.step()
    out["loss"] = torch.tensor(losses, dtype=torch.float64)
    out["lr"] = torch.tensor(lrs, dtype=torch.float64)
    return out


def run_case(root, case, manifest, inits, batches):
    with open(os.path.join(root, case["stamp"]), encoding="utf-8") as f:
        s = json.load(f)
    classes, steps, per_epoch = manifest["classes"], manifest["steps"], manifest["steps_per_epoch"]
    init = initial_weights(root, s, classes, inits)
    x, y = inputs(root, s, steps, classes, batches)
    for folder, threads in (("reference", int(s["threads"])), ("noise", 1 if int(s["threads"]) != 1 else 2)):
        torch.set_num_threads(threads)
        out = trajectory(s, init, x, y, steps, per_epoch)
        save(out, os.path.join(root, folder, case["name"] + ".pth"))
        print(f"{case['name']} ({threads} threads): loss {' '.join(f'{v:.6f}' for v in out['loss'].tolist())}", flush=True)


def main(root):
    with open(os.path.join(root, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    inits, batches = {}, {}
    for case in manifest["cases"]:
        run_case(root, case, manifest, inits, batches)
    with open(os.path.join(root, "versions.json"), "w", encoding="utf-8") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__}, f)
    print(f"torch {torch.__version__} torchvision {torchvision.__version__}: {len(manifest['cases'])} cases in {root}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
