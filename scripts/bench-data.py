"""torchvision side of scripts/bench-data.sh: decode + training transform, one thread, images/s.

Run with Debian's /usr/bin/python3 (PyTorch 1.13, torchvision 0.14, Pillow 9.4). Does what
torchvision.datasets.ImageFolder + the tutorial's training transform do per sample: PIL open + convert("RGB"),
RandomResizedCrop(crop), RandomHorizontalFlip(), ToTensor(), Normalize(ImageNet).
"""
import os
import sys
import time

import torch
import torchvision.transforms as T
from torchvision.datasets.folder import default_loader

root = sys.argv[1]
crop = int(sys.argv[2]) if len(sys.argv) > 2 else 224
passes = int(sys.argv[3]) if len(sys.argv) > 3 else 3
torch.set_num_threads(1)
torch.manual_seed(1)
paths = sorted(
    os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.lower().endswith((".jpg", ".jpeg", ".png"))
)
transform = T.Compose([
    T.RandomResizedCrop(crop),
    T.RandomHorizontalFlip(),
    T.ToTensor(),
    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])
for p in paths[:30]:
    transform(default_loader(p))
best = 0.0
for _ in range(passes):
    t0 = time.perf_counter()
    for p in paths:
        transform(default_loader(p))
    best = max(best, len(paths) / (time.perf_counter() - t0))
print(f"torchvision images={len(paths)} crop={crop} decode+transform={best:.1f} img/s")
