"""PyTorch side of a twin run (dotnet build -t:TwinExperiments): the recipe of one Repro run, trained and tested by
PyTorch + torchvision on the same data files and the same split, printed as one JSON line.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14). It reads what the Repro run
folder holds: stamps/train.json (the canonical settings the train stage ran with) and split.tsv (the split manifest:
which file and index is train or test), so both sides see the same images in the same roles. What it does not share
with Repro is the random stream (initial weights, shuffling, augmentation draws): the comparison is statistical, over
seeds, by design.

Transforms follow torchvision's reference recipe, which Repro ports: evaluation = Resize(floor(crop / 0.875)) with
PIL's antialiased bilinear filter, then CenterCrop(crop); training with augment = RandomResizedCrop(crop) +
RandomHorizontalFlip. Grey images are converted to RGB, as Repro's decoder does.

The tutorial-faithful switches of stamps/train.json are honoured as Repro honours them: frozen_bn_train (a frozen
backbone goes to training mode with the head, BatchNorm statistics drifting), test_augment (the test split read with the
training transform) and load_nonstrict (load_state_dict(strict=False) without renaming legacy DenseNet keys; the JSON
line then says how many entries were skipped).
"""
import argparse
import gzip
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
from PIL import Image

MEAN_STD = {
    "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "half": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
}


def read_idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            sys.exit(f"{path}: not an IDX image file (magic {magic})")
        return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows, cols)


class ManifestDataset(torch.utils.data.Dataset):
    """The images a split manifest names, in manifest order, with their labels."""

    def __init__(self, root, kind, rows, transform):
        self.root, self.kind, self.rows, self.transform = root, kind, rows, transform
        self.idx_cache = {}

    def __len__(self):
        return len(self.rows)

    def image(self, path):
        if self.kind == "idx":
            file, index = path.split("#")
            if file not in self.idx_cache:
                self.idx_cache[file] = read_idx_images(os.path.join(self.root, file))
            return Image.fromarray(self.idx_cache[file][int(index)], mode="L").convert("RGB")
        if self.kind in ("imagefolder", "flower", "oxford-pet"):
            with Image.open(os.path.join(self.root, path)) as img:
                return img.convert("RGB")
        sys.exit(f"twin.py: dataset kind '{self.kind}' is not supported here")

    def __getitem__(self, i):
        path, label = self.rows[i]
        return self.transform(self.image(path)), label


def read_manifest(path):
    train, test, classes = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# classes\t"):
                classes = line.split("\t")[1:]
            if not line or line.startswith("#") or line.startswith("path\t"):
                continue
            p, label, _, split, _ = line.split("\t")
            (train if split == "train" else test).append((p, int(label)))
    return train, test, classes


def seed_head(arch, features, classes):
    """The tutorial's MLP head, as Repro's Heads.Seed builds it: h = 2^(log2(F) - floor(log2(int(sqrt(F / n)))))."""
    h = 2 ** (int(round(math.log2(features))) - int(math.floor(math.log2(int(math.sqrt(features / classes))))))
    if arch == "resnet50":
        return nn.Sequential(nn.Linear(features, h), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(h, classes))
    return nn.Sequential(nn.Linear(features, h), nn.ReLU(inplace=True), nn.Linear(h, classes))


# torchvision/models/densenet.py, _load_state_dict: the published densenet121-a639ec97.pth names dense-layer entries
# `norm.1`, `conv.2`, …; torchvision renames them on load, as Repro's DenseNet.UpgradeLegacyKey does.
LEGACY_DENSENET = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def upgrade_legacy_keys(state):
    return {LEGACY_DENSENET.sub(r"\1\2", k): v for k, v in state.items()}


def build_model(s, classes):
    """The model, its classifier's name, and with load_nonstrict how many model entries the load skipped (else None)."""
    arch = s["model"]
    model = getattr(torchvision.models, arch)(num_classes=classes)
    classifier = "fc" if arch == "resnet50" else "classifier"
    skipped = None
    if s.get("pretrained") and s.get("load_nonstrict"):
        # The tutorial's load: whatever matches by name, nothing renamed, nothing reported (its DenseNet bug).
        state = torch.load(s["pretrained"], map_location="cpu")
        own = model.state_dict()
        head = {k: v for k, v in state.items() if k.startswith(classifier + ".")}
        keep_head = s["head"] == "linear" and head and all(k in own and own[k].shape == v.shape for k, v in head.items())
        state = {k: v for k, v in state.items() if keep_head or not k.startswith(classifier + ".")}
        missing, _ = model.load_state_dict(state, strict=False)
        skipped = len([k for k in missing if keep_head or not k.startswith(classifier + ".")])
    elif s.get("pretrained"):
        state = torch.load(s["pretrained"], map_location="cpu")
        if arch == "densenet121":
            state = upgrade_legacy_keys(state)
        own = model.state_dict()
        # The backbone strictly; the classifier only when its shape fits (as Repro does).
        backbone = {k: v for k, v in state.items() if not k.startswith(classifier + ".")}
        head = {k: v for k, v in state.items() if k.startswith(classifier + ".")}
        keep_head = s["head"] == "linear" and all(k in own and own[k].shape == v.shape for k, v in head.items()) and head
        missing, unexpected = model.load_state_dict({**backbone, **(head if keep_head else {})}, strict=False)
        missing = [k for k in missing if not k.startswith(classifier + ".")]
        if missing or unexpected:
            sys.exit(f"{s['pretrained']}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    features = getattr(model, classifier).in_features
    if s["head"] == "seed":
        setattr(model, classifier, seed_head(arch, features, classes))
    if s["freeze"] == "backbone":
        freeze_backbone(model, classifier)
    return model, classifier, skipped


def freeze_backbone(model, classifier):
    """requires_grad off outside the classifier, as Repro's ModelBuilder.FreezeBackbone."""
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith(classifier + ".")


def set_train_mode(model, classifier, frozen):
    model.train()
    if frozen:
        # A frozen backbone stays in evaluation mode (BatchNorm statistics fixed), as Repro's freeze: backbone does.
        for name, m in model.named_children():
            if name != classifier:
                m.eval()


def optimizer_for(s, params):
    lr, wd = float(s["lr"]), float(s["weight_decay"])
    if s["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if s["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, momentum=float(s["momentum"]), nesterov=bool(s["nesterov"]), weight_decay=wd)


def scheduler_for(opt, s, steps_per_epoch):
    """PyTorch's own schedulers for Repro's schedule, stepped once per batch after opt.step() (None: constant).

    Repro's Optimization.LearningRate: linear warm-up over warmup_epochs reaching the base rate at its last step, then
    constant, or cosine over the remaining steps (torchvision's reference recipe: LinearLR then CosineAnnealingLR, here
    per step), or step decay counted in epochs from the start of training."""
    warmup = int(s["warmup_epochs"]) * steps_per_epoch
    total = max(1, int(s["epochs"]) * steps_per_epoch)
    schedule = s["schedule"]
    if schedule == "step" and warmup > 0:
        # torchvision's SequentialLR would count the decay from the end of the warm-up; Repro counts from the start.
        sys.exit("twin.py: a step schedule with warm-up is not supported by the PyTorch side (Repro counts its decay from the start)")
    main = {
        "constant": lambda: None,
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total - warmup)),
        "step": lambda: torch.optim.lr_scheduler.StepLR(opt, step_size=int(s["step_epochs"]) * steps_per_epoch, gamma=float(s["step_gamma"])),
    }[schedule]()
    if warmup == 0:
        return main
    # LinearLR from 1/warmup to 1 over warmup - 1 steps: lr * (step + 1) / warmup at step < warmup.
    ramp = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / warmup, end_factor=1.0, total_iters=max(1, warmup - 1))
    if main is None:
        return ramp
    return torch.optim.lr_scheduler.SequentialLR(opt, [ramp, main], milestones=[warmup])


def train_step(model, opt, x, y, s):
    """One optimisation step as Repro's Trainer.Step: forward, cross-entropy with label smoothing, backward, gradient
    clipping of the trainable parameters, update. Returns the logits and the loss."""
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=float(s["label_smoothing"]))
    opt.zero_grad()
    loss.backward()
    clip = float(s["clip_grad_norm"])
    if clip > 0:
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], clip)
    opt.step()
    return logits, loss


def evaluate(model, loader, classes):
    model.eval()
    confusion = torch.zeros(classes, classes, dtype=torch.int64)
    loss_sum, n = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            pred = logits.argmax(1)
            for t, p in zip(y.tolist(), pred.tolist()):
                confusion[t, p] += 1
            n += len(y)
    correct = int(confusion.diag().sum())
    f1s = []
    for c in range(classes):
        tp = int(confusion[c, c])
        precision = tp / max(int(confusion[:, c].sum()), 1)
        recall = tp / max(int(confusion[c, :].sum()), 1)
        f1s.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return {"accuracy": correct / n, "loss": loss_sum / n, "macro_f1": sum(f1s) / classes, "correct": correct, "images": n}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="a Repro run folder (stamps/train.json, split.tsv)")
    ap.add_argument("--config-dir", required=True, help="the folder of experiments.yaml (dataset roots are relative to it)")
    ap.add_argument("--seed", type=int, required=True)
    a = ap.parse_args()

    with open(os.path.join(a.run, "stamps", "train.json"), encoding="utf-8") as f:
        s = json.load(f)
    for key, allowed in (("device", ("cpu", "auto")),):
        if str(s[key]) not in allowed:
            sys.exit(f"twin.py: {key} = {s[key]} is not supported by the PyTorch side yet")
    if s.get("pretrained"):
        s["pretrained"] = os.path.join(a.config_dir, s["pretrained"])
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(int(s["threads"]))

    crop = int(s["crop"])
    mean, std = MEAN_STD[s["normalize"]]
    evaluation = T.Compose([T.Resize(int(math.floor(crop / 0.875 + 1e-9))), T.CenterCrop(crop), T.ToTensor(), T.Normalize(mean, std)])
    training = T.Compose([T.RandomResizedCrop(crop), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)]) if s["augment"] else evaluation
    # test_augment: the tutorial's one transform for both folders.
    testing = training if s.get("test_augment") else evaluation

    train_rows, test_rows, classes = read_manifest(os.path.join(a.run, "split.tsv"))
    root = os.path.join(a.config_dir, s["dataset.root"])
    kind = s["dataset.kind"]
    generator = torch.Generator().manual_seed(a.seed)
    train = torch.utils.data.DataLoader(ManifestDataset(root, kind, train_rows, training), batch_size=int(s["batch"]), shuffle=True, generator=generator)
    test = torch.utils.data.DataLoader(ManifestDataset(root, kind, test_rows, testing), batch_size=128, shuffle=False)

    model, classifier, skipped = build_model(s, len(classes))
    # frozen_bn_train: model.train() on the whole network, as the tutorial did.
    frozen = s["freeze"] == "backbone" and not s.get("frozen_bn_train")
    opt = optimizer_for(s, [p for p in model.parameters() if p.requires_grad])
    scheduler = scheduler_for(opt, s, len(train))
    for _ in range(int(s["epochs"])):
        set_train_mode(model, classifier, frozen)
        for x, y in train:
            train_step(model, opt, x, y, s)
            if scheduler is not None:
                scheduler.step()
    result = evaluate(model, test, len(classes))
    extra = {} if skipped is None else {"skipped_entries": skipped}
    print(json.dumps({"seed": a.seed, "torch": torch.__version__, "torchvision": torchvision.__version__, **result, **extra}))


if __name__ == "__main__":
    main()
