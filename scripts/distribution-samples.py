#!/usr/bin/env python3
"""torchvision's random draws that Repro reproduces in distribution (not number for number: the generators differ), for
Repro's distribution checks (Repro.Core.Validation.DistributionChecks).

Usage: distribution-samples.py DIR [DRAWS]

Writes, in torch.save's zip format:
  DIR/init/<model>-<head>.pth   the state_dict of a freshly built torchvision model for 10 classes (torch.manual_seed(0)):
                                resnet50 and densenet121 with their own classifier (`linear`) and with the tutorial's MLP
                                head (`seed`, built by scripts/twin.py's seed_head, PyTorch's default Linear init)
  DIR/augment.pth               for each image size WxH: "WxH/boxes" (DRAWS, 4) int64 (top, left, height, width) from
                                torchvision.transforms.RandomResizedCrop.get_params with its default scale (0.08, 1) and
                                ratio (3/4, 4/3), and "WxH/flips" (DRAWS,) int64 (1 = flipped) from
                                RandomHorizontalFlip, drawn per image in that order as the training transform draws them
The sizes: 36x36 (a Fashion-MNIST image decoded for crop 32), 500x375 (a Flower photo) and 400x40, where ten attempts
often all fail and the centre-crop fallback is taken. DRAWS defaults to 10,000.
Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14).
"""
import os
import sys

import torch
import torchvision
import torchvision.transforms as T

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twin import build_model  # noqa: E402

SIZES = [(36, 36), (500, 375), (400, 40)]


def save(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def main(root, draws):
    for model in ("resnet50", "densenet121"):
        for head in ("linear", "seed"):
            torch.manual_seed(0)
            built, _, _ = build_model({"model": model, "head": head, "freeze": "none", "pretrained": None}, 10)
            save(built.state_dict(), os.path.join(root, "init", f"{model}-{head}.pth"))
    torch.manual_seed(0)
    crop, flip = T.RandomResizedCrop(32), T.RandomHorizontalFlip()
    probe = torch.tensor([[[0.0, 1.0]]])
    out = {}
    for width, height in SIZES:
        image = torch.zeros(1, height, width)
        boxes, flips = [], []
        for _ in range(draws):
            boxes.append(crop.get_params(image, crop.scale, crop.ratio))
            flips.append(int(flip(probe)[0, 0, 0] == 1.0))
        out[f"{width}x{height}/boxes"] = torch.tensor(boxes, dtype=torch.int64)
        out[f"{width}x{height}/flips"] = torch.tensor(flips, dtype=torch.int64)
    save(out, os.path.join(root, "augment.pth"))
    print(f"torch {torch.__version__} torchvision {torchvision.__version__}: {draws} draws per size, 4 fresh models in {root}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 10000)
