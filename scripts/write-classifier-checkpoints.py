#!/usr/bin/env python3
"""Writes torchvision checkpoints with classifiers of several sizes, for Repro's pretrained-loading test.

Usage: write-classifier-checkpoints.py OUTDIR

OUTDIR receives state_dicts of torchvision models with random weights (BatchNorm statistics randomised, as in
check-torchvision-parity.py, so that misplaced buffers would show):
  resnet50_1000.pth     torchvision.models.resnet50() (ImageNet-sized fc), zip format
  resnet50_10.pth       torchvision.models.resnet50(num_classes=10), zip format: a user's fine-tuned model
  densenet121_5.pth     torchvision.models.densenet121(num_classes=5) with torchvision's legacy key names
                        (`norm.1`, `conv.2`, ...) in the legacy (pre-1.6, non-zip) format
  logits.pth            {"input": x, "<file stem>": eval-mode logits, ...} for each file

Repro's test (tests/Repro.Core.Tests/Models/PretrainedCheckpointTests.cs) runs it with /usr/bin/python3
(Debian's python3-torch and python3-torchvision) in a temporary folder and deletes the files afterwards
(a resnet50 file is about 100 MB).
"""
import sys

import torch
import torchvision

from torchvision_fixtures import legacy_densenet_names, randomise_batchnorm


def main(outdir: str) -> None:
    torch.manual_seed(0)
    # 64 pixels: large enough for both architectures, small enough to keep the test quick.
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    result = {"input": x}
    for arch, classes, legacy in (("resnet50", 1000, False), ("resnet50", 10, False), ("densenet121", 5, True)):
        model = getattr(torchvision.models, arch)(num_classes=classes)
        randomise_batchnorm(model)
        model.eval()
        stem = f"{arch}_{classes}"
        with torch.no_grad():
            result[stem] = model(x)
        state = dict(model.state_dict())
        if legacy:
            state = legacy_densenet_names(state)
        torch.save(state, f"{outdir}/{stem}.pth", _use_new_zipfile_serialization=not legacy)
    torch.save(result, f"{outdir}/logits.pth")
    print(f"torch {torch.__version__} torchvision {torchvision.__version__}: wrote {outdir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
