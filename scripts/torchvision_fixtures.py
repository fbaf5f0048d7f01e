"""Helpers shared by the scripts that write torchvision checkpoints for Repro's tests
(check-torchvision-parity.py, write-classifier-checkpoints.py)."""
import re

import torch


def randomise_batchnorm(model: torch.nn.Module) -> None:
    """Random BatchNorm parameters and statistics: with PyTorch's defaults (mean 0, var 1) evaluation-mode BatchNorm
    is nearly the identity and would not show buffers loaded into the wrong places."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)


def legacy_densenet_names(state_dict):
    """The key names of torchvision's original densenet121-a639ec97.pth (`norm.1`, `conv.2`, ...): the inverse of
    torchvision/models/densenet.py `_load_state_dict`."""
    pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))((?:[12])\.(?:weight|bias|running_mean|running_var))$")
    out = {}
    for key, value in state_dict.items():
        m = pattern.match(key)
        out[f"{m.group(1)}.{m.group(2)}" if m else key] = value
    return out
