"""PyTorch side of scripts/bench.sh: the same work as `Repro.Bench train|eval|epoch`, one JSON line.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14), or on the GPU machine with
its PyTorch. Options mirror bench/Repro.Bench/TrainBench.cs:
  train: Adam(lr 2e-4) steps on a fixed batch: forward, cross_entropy, zero_grad, backward, step, loss.item(),
         correct count (what Repro's Trainer.Step does).
  eval:  no_grad forward in eval mode, per-image losses and argmax read back (Repro's MetricsAccumulator).
  bn:    each BatchNorm2d of the model timed alone in evaluation mode on the shape it sees, as F.batch_norm and as
         the same per-channel map in one addcmul (Repro.Bench's BatchNormBench.cs); medians of --steps calls.
  epoch: torchvision ImageFolder + RandomResizedCrop/flip/ToTensor/Normalize + DataLoader(num_workers,
         shuffle) + the train loop, several epochs; images/s of each epoch and resident memory after each.
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision


def status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mallinfo2():
    f = ctypes.CDLL(None).mallinfo2
    f.restype = MallInfo2
    return f()


def trace(point):
    # BENCH_MEMTRACE=1: resident memory at each point of a training step, on stderr (where the peak comes from).
    if os.environ.get("BENCH_MEMTRACE") == "1":
        # glibc's own account: memory in use in its arenas, free memory it keeps there, and chunks mapped apart.
        m = _mallinfo2()
        print(f"memtrace {point}: rss {status_mb('VmRSS'):.0f} MB, peak {status_mb('VmHWM'):.0f} MB, "
              f"malloc in use {m.uordblks / 1048576:.0f} MB, free kept {m.fordblks / 1048576:.0f} MB, "
              f"mapped {m.hblkhd / 1048576:.0f} MB", file=sys.stderr, flush=True)


def make_model(name, classes):
    return getattr(torchvision.models, name)(num_classes=classes)


def inputs(a, device):
    n = a.batch * 3 * a.size * a.size
    x = torch.arange(0, n, dtype=torch.float32).mul_(0.001).sin_().reshape(a.batch, 3, a.size, a.size)
    y = torch.arange(0, a.batch, dtype=torch.int64).remainder_(a.classes)
    if a.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.to(device), y.to(device)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(a, step, device):
    trace("ready")  # interpreter, PyTorch, model, optimizer and inputs, before the first step
    if os.environ.get("BENCH_SMAPS"):  # what the resident memory is made of (scripts/smaps-split.py)
        with open("/proc/self/smaps") as src, open(os.environ["BENCH_SMAPS"], "w") as dst:
            dst.write(src.read())
    for _ in range(a.warmup):
        step()
    sync(device)
    times, cpu = [], []
    for _ in range(a.steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu


def median(v):
    s = sorted(v)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def emit(mode, a, timed, device, **extra):
    times, cpu = timed
    med = median(times)
    d = dict(side="pytorch", mode=mode, model=a.model, size=a.size, batch=a.batch, threads=a.threads,
             channels_last=a.channels_last, step_s=times, step_s_median=med, images_per_s=a.batch / med,
             cpu_s=cpu, cpu_s_median=median(cpu), rss_peak_mb=status_mb("VmHWM"),
             torch=torch.__version__, device=str(device))
    d.update(extra)
    print(json.dumps(d), flush=True)


def train(a, device):
    torch.manual_seed(1)
    model = make_model(a.model, a.classes).to(device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    x, y = inputs(a, device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    tot = {"loss": 0.0, "correct": 0}

    def step():
        xs, ys = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        logits = model(xs)
        loss = F.cross_entropy(logits, ys)
        trace("forward")
        opt.zero_grad()
        loss.backward()
        trace("backward")
        opt.step()
        trace("step")
        tot["loss"] += loss.double().item() * ys.shape[0]
        tot["correct"] += logits.argmax(1).eq(ys).sum().item()

    emit("train", a, time_steps(a, step, device), device, loss_sum=tot["loss"])


def evaluate(a, device):
    torch.manual_seed(1)
    model = make_model(a.model, a.classes).to(device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.eval()
    x, y = inputs(a, device)
    tot = {"loss": 0.0}

    def step():
        with torch.no_grad():
            logits = model(x).float()
            tot["loss"] += F.cross_entropy(logits, y, reduction="none").double().cpu().sum().item()
            logits.argmax(1).cpu().numpy()

    emit("eval", a, time_steps(a, step, device), device, loss_sum=tot["loss"])


def batch_norm(a, device):
    torch.manual_seed(1)
    model = make_model(a.model, a.classes).to(device).eval()
    seen = []
    hooks = [m.register_forward_pre_hook(lambda m, inp, name=name: seen.append((name, m, tuple(inp[0].shape))))
             for name, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        model(torch.randn(a.batch, 3, a.size, a.size, device=device))
    for h in hooks:
        h.remove()

    def median_ms(op):
        for _ in range(a.warmup):
            op()
        ms = []
        for _ in range(a.steps):
            t0 = time.perf_counter()
            op()
            ms.append((time.perf_counter() - t0) * 1000)
        return median(ms)

    rows = []
    with torch.no_grad():
        for name, bn, shape in seen:
            x = torch.randn(shape, device=device)
            scale = (bn.running_var + bn.eps).rsqrt().mul(bn.weight).reshape(1, -1, 1, 1)
            shift = bn.bias.reshape(1, -1, 1, 1) - bn.running_mean.reshape(1, -1, 1, 1) * scale
            rows.append((name, shape,
                         median_ms(lambda: F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.1, bn.eps)),
                         median_ms(lambda: torch.addcmul(shift, x, scale))))
    unpaired = [r for r in rows if r[0].endswith(("norm1", ".norm", "norm5"))]
    by_spatial = {}
    for _, shape, b, f in rows:
        g = by_spatial.setdefault(f"{shape[2]}x{shape[3]}", [0, 0.0, 0.0])
        g[0] += 1
        g[1] += b
        g[2] += f
    print(json.dumps(dict(side="pytorch", mode="bn", model=a.model, size=a.size, batch=a.batch, threads=a.threads,
                          repeats=a.steps, layers=len(rows), unpaired_layers=len(unpaired),
                          bn_ms=sum(r[2] for r in rows), affine_ms=sum(r[3] for r in rows),
                          unpaired_bn_ms=sum(r[2] for r in unpaired), unpaired_affine_ms=sum(r[3] for r in unpaired),
                          by_spatial=by_spatial, torch=torch.__version__)), flush=True)


def epoch(a, device):
    import torchvision.transforms as T
    torch.manual_seed(1)
    tf = T.Compose([T.RandomResizedCrop(a.size), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ds = torchvision.datasets.ImageFolder(a.dir, transform=tf)
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, shuffle=True, num_workers=a.loader_threads,
                                         persistent_workers=a.loader_threads > 0, pin_memory=device.type == "cuda")
    model = make_model(a.model, len(ds.classes)).to(device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    rates, seconds, rss, hwm = [], [], [], []
    for _ in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        seen = 0
        loss_sum = 0.0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if a.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.double().item() * y.shape[0]
            logits.argmax(1).eq(y).sum().item()
            seen += y.shape[0]
        sync(device)
        dt = time.perf_counter() - t0
        rates.append(seen / dt)
        seconds.append(dt)
        rss.append(status_mb("VmRSS"))
        hwm.append(status_mb("VmHWM"))
    print(json.dumps(dict(side="pytorch", mode="epoch", model=a.model, size=a.size, batch=a.batch, threads=a.threads,
                          loader_threads=a.loader_threads, images=len(ds), channels_last=a.channels_last,
                          epoch_images_per_s=rates,
                          epoch_train_s=seconds, rss_mb_per_epoch=rss, hwm_mb_per_epoch=hwm,
                          rss_peak_mb=status_mb("VmHWM"), torch=torch.__version__, device=str(device))), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "eval", "epoch", "bn"])
    p.add_argument("--model", default="resnet50")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--loader-threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--dir", default="")
    p.add_argument("--device", default="cpu")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--tf32", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cudnn.benchmark = False
    {"train": train, "eval": evaluate, "epoch": epoch, "bn": batch_norm}[a.mode](a, device)


if __name__ == "__main__":
    main()
