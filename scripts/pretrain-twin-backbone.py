"""Pretrains the backbone of the transfer-learning twin (experiments tagged transfer-twin): ResNet50 or DenseNet121
from scratch on Fashion-MNIST classes 0-4, saved as a torchvision-format state_dict (.pth) that both Repro and
scripts/twin.py then load through their normal `pretrained:` path for the tutorial's recipe on classes 5-9.

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision) and the full data set
(apt-get install dataset-fashion-mnist: /usr/share/datasets/fashion-mnist). The checkpoint stands in for ImageNet's
weights at a size two CPU cores can afford: crop 32, by default a per-class subsample of the 30,000 training images of
classes 0-4 for two epochs (the sample-based transfer-twin entries); --per-class 0 --epochs 3 trains on all 30,000 (the
twin-full entries, files named <model>-fmnist0-4-full.pth). The train accuracy and its own test accuracy (the 5,000 official
test images of classes 0-4) are printed and written beside the .pth as <file>.json.

DenseNet121 is written with the legacy key names of torchvision's published densenet121-a639ec97.pth
(`norm.1`, `relu.1`, `conv.1`, `norm.2`, `relu.2`, `conv.2` inside dense layers), which torchvision's own loader
renames (torchvision/models/densenet.py, _load_state_dict) and a plain load_state_dict(strict=False) silently skips:
the mechanism of the tutorial's DenseNet bug, so the faithful `load_nonstrict` switch reproduces it on this file.
"""
import argparse
import gzip
import json
import os
import re
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
from PIL import Image


def read_idx(path, magic_expected):
    with gzip.open(path, "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        if magic != magic_expected:
            raise SystemExit(f"{path}: magic {magic}, expected {magic_expected}")
        if magic == 2051:
            rows, cols = struct.unpack(">II", f.read(8))
            return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows, cols)
        return np.frombuffer(f.read(n), dtype=np.uint8)


class Subset(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i], mode="L").convert("RGB")), int(self.labels[i])


def legacy_densenet_keys(state):
    # The inverse of torchvision's rename in densenet._load_state_dict (norm1 -> norm.1 and so on), and, as in the
    # published file (saved before PyTorch 0.4.1), no num_batches_tracked entries: both loaders accept their absence.
    pattern = re.compile(r"^(.*denselayer\d+\.)(norm|relu|conv)([12])\.(weight|bias|running_mean|running_var)$")
    return {pattern.sub(r"\1\2.\3.\4", k): v for k, v in state.items() if not k.endswith(".num_batches_tracked")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=["resnet50", "densenet121"])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-class", type=int, default=500, help="training images per class (of 6,000); 0 = all")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--crop", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    images = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"), 2051)
    labels = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"), 2049)
    rng = np.random.default_rng(a.seed)
    keep = []
    for c in range(5):
        members = np.flatnonzero(labels == c)
        keep.extend(rng.permutation(members)[: a.per_class] if a.per_class > 0 else members)
    keep = np.sort(np.array(keep))
    # The transfer recipe's normalisation (0.5/0.5, the tutorial's), so the pretrained features see the same inputs.
    transform = T.Compose([T.Resize(int(a.crop / 0.875)), T.CenterCrop(a.crop), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize([0.5] * 3, [0.5] * 3)])
    loader = torch.utils.data.DataLoader(Subset(images[keep], labels[keep], transform), batch_size=64, shuffle=True,
                                         generator=torch.Generator().manual_seed(a.seed))
    model = getattr(torchvision.models, a.model)(num_classes=5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    clock = time.time()
    for epoch in range(a.epochs):
        model.train()
        correct, seen, loss_sum = 0, 0, 0.0
        for x, y in loader:
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            loss_sum += loss.item() * len(y)
        print(f"{a.model} epoch {epoch + 1}/{a.epochs}: loss {loss_sum / seen:.4f}, train accuracy {correct / seen:.4f}, {time.time() - clock:.0f} s", flush=True)
    # Its own test accuracy: the official test images of classes 0-4 (5,000), evaluation transform (no flip).
    test_images = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"), 2051)
    test_labels = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"), 2049)
    test_keep = np.flatnonzero(test_labels < 5)
    evaluation = T.Compose([T.Resize(int(a.crop / 0.875)), T.CenterCrop(a.crop), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    test_loader = torch.utils.data.DataLoader(Subset(test_images[test_keep], test_labels[test_keep], evaluation), batch_size=256)
    model.eval()
    test_correct = 0
    with torch.no_grad():
        for x, y in test_loader:
            test_correct += int((model(x).argmax(1) == y).sum())
    test_accuracy = test_correct / len(test_keep)
    print(f"{a.model}: test accuracy {test_accuracy:.4f} on {len(test_keep)} images of classes 0-4", flush=True)
    state = model.state_dict()
    if a.model == "densenet121":
        state = legacy_densenet_keys(state)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, a.out)
    info = {"model": a.model, "classes": [0, 1, 2, 3, 4], "images": int(len(keep)), "per_class": a.per_class, "epochs": a.epochs,
            "crop": a.crop, "seed": a.seed, "train_accuracy": correct / seen, "test_accuracy": test_accuracy, "test_images": int(len(test_keep)),
            "seconds": round(time.time() - clock, 1),
            "torch": torch.__version__, "torchvision": torchvision.__version__, "entries": len(state)}
    with open(a.out + ".json", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
