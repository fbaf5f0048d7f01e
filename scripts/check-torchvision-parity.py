#!/usr/bin/env python3
"""Writes torchvision models with random weights and their logits, for Repro's parity test.

Usage: check-torchvision-parity.py OUTDIR

OUTDIR receives (torch.save's zip format unless noted):
  resnet50.pth      state_dict of torchvision.models.resnet50() (1000 classes)
  densenet121.pth   state_dict of torchvision.models.densenet121() as torchvision's original
                    densenet121-a639ec97.pth stores it: legacy key names (`norm.1`, `conv.2`, ...) and
                    PyTorch's legacy (pre-1.6, non-zip) serialization, so the C# side also exercises the
                    key rename torchvision applies when loading and the legacy-format reader
  parity.pth        {"input": x, "resnet50": logits, "densenet121": logits} in eval mode

BatchNorm running statistics are randomised too: with PyTorch's defaults (mean 0, var 1) evaluation-mode
BatchNorm is nearly the identity and would not test that the buffers load into the right places.
Repro's test (tests/Repro.Core.Tests/Models/TorchvisionParityTests.cs) runs this with /usr/bin/python3
(Debian's python3-torch and python3-torchvision) and compares its own logits.
"""
import sys

import torch
import torchvision

from torchvision_fixtures import legacy_densenet_names, randomise_batchnorm


def main(outdir: str) -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 160, 160) * 2 - 1
    result = {"input": x}
    for name in ("resnet50", "densenet121"):
        model = getattr(torchvision.models, name)()
        randomise_batchnorm(model)
        model.eval()
        with torch.no_grad():
            result[name] = model(x)
        state = dict(model.state_dict())
        legacy = name == "densenet121"
        if legacy:
            state = legacy_densenet_names(state)
        torch.save(state, f"{outdir}/{name}.pth", _use_new_zipfile_serialization=not legacy)
    torch.save(result, f"{outdir}/parity.pth")
    print(f"torch {torch.__version__} torchvision {torchvision.__version__}: wrote {outdir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
