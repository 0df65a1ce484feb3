#!/usr/bin/python3
"""The network of bench/lenet5-full.yaml in PyTorch, timed the way `nnrun CONFIG bench` times it:
the training step (forward, cross-entropy, backward, SGD update) and inference (forward and
softmax), in images/s, the median of several repeats after a warm-up. MNIST is read once, padded
and scaled as nnrun does, and kept in memory as float tensors (so PyTorch does no conversion
per batch; nnrun converts bytes per batch, as its training does)."""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Subsample(nn.Module):
    """LeCun's trainable subsampling: the 2x2 window sum times a coefficient, plus a bias, per
    map (nnrun's `subsample`)."""

    def __init__(self, maps):
        super().__init__()
        self.coef = nn.Parameter(torch.empty(maps).uniform_(-2.4 / 4, 2.4 / 4))
        self.bias = nn.Parameter(torch.zeros(maps))

    def forward(self, x):
        return (F.avg_pool2d(x, 2) * (4 * self.coef).view(1, -1, 1, 1)
                + self.bias.view(1, -1, 1, 1))


def lecun_tanh(x):
    return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class LeNet5Full(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2 = Subsample(6)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = Subsample(16)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x):  # logits; the softmax is in the loss (training) or applied (inference)
        x = lecun_tanh(self.c1(x))
        x = lecun_tanh(self.s2(x))
        x = lecun_tanh(self.c3(x))
        x = lecun_tanh(self.s4(x))
        x = lecun_tanh(self.c5(x)).flatten(1)
        x = lecun_tanh(self.f6(x))
        return self.out(x)


def load_mnist(images_path, labels_path, n, pad=2, lo=-0.1, hi=1.175):
    with open(images_path, "rb") as f:
        head = np.frombuffer(f.read(16), dtype=">u4")
        rows, cols = int(head[2]), int(head[3])
        raw = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows, cols)
    with open(labels_path, "rb") as f:
        f.read(8)
        labels = np.frombuffer(f.read(n), dtype=np.uint8)
    x = np.full((n, 1, rows + 2 * pad, cols + 2 * pad), lo, dtype=np.float32)
    x[:, 0, pad:pad + rows, pad:pad + cols] = lo + (hi - lo) * raw.astype(np.float32) / 255.0
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def measure(step, batch, seconds, repeats):
    """Medians of images per wall-clock second and per CPU second (all threads)."""
    steps, t0 = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        t = time.perf_counter() - t0
        if t >= seconds:
            break
    per_repeat = int(steps * seconds / t) + 1
    ips, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(per_repeat):
            step()
        ips.append(per_repeat * batch / (time.perf_counter() - t0))
        cpu.append(per_repeat * batch / max(time.process_time() - c0, 1e-9))
    return statistics.median(ips), min(ips), max(ips), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.4)
    ap.add_argument("--images", type=int, default=8192)
    ap.add_argument("--data", default="data/mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.set_flush_denormal(True)  # nnrun flushes denormals too
    torch.manual_seed(1)
    n = max(a.images, a.batch)
    x, y = load_mnist(a.data + "/train-images-idx3-ubyte", a.data + "/train-labels-idx1-ubyte", n)
    model = LeNet5Full()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    at = [0]

    def next_batch():
        i = at[0]
        if i + a.batch > n:
            i = 0
        at[0] = i + a.batch
        return x[i:i + a.batch], y[i:i + a.batch]

    def train_step():
        xb, yb = next_batch()
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(model(xb), yb).backward()
        opt.step()

    def infer_step():
        xb, _ = next_batch()
        with torch.inference_mode():
            torch.softmax(model(xb), dim=1)

    print(f"torch {torch.__version__}: batch {a.batch}, {a.threads} thread"
          f"{'' if a.threads == 1 else 's'}, median of {a.repeats} repeats after a warm-up")
    for name, step in (("train", train_step), ("infer", infer_step)):
        med, lo, hi, cpu = measure(step, a.batch, a.seconds, a.repeats)
        print(f"{name} {med:10.0f} images/s  (repeats {lo:.0f}..{hi:.0f})  {cpu:.0f} images/cpu-s")


if __name__ == "__main__":
    main()
