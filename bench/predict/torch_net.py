"""The galmorph ResNet in PyTorch, for the predict benchmark (benchmark-only; never shipped).

Builds the network from a galmorph architecture spec, loads the weights the JS side exported,
checks that both compute the same concentrations on the same prepared images, then times
inference the way PyTorch runs fastest on CPU: 2 threads, channels-last, no-grad, eval mode,
after a warm-up. MC dropout is timed as galmorph runs it: the encoder once, the head on
`passes` masked copies of the representation.

    python3 torch_net.py --spec spec.json --weights weights.bin --check check.bin --out result.json
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def tf_same_pad(size, k, stride):
    """TensorFlow 'same' padding (before, after) for one spatial axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


class Conv(nn.Module):
    def __init__(self, cin, cout, k, stride, size, exact):
        super().__init__()
        self.k, self.stride, self.size, self.exact = k, stride, size, exact
        before, after = tf_same_pad(size, k, stride)
        # For timing, native symmetric padding when it gives the same output size (same FLOPs).
        self.pad = (before, after, before, after) if exact else None
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=0 if exact else (k // 2), bias=False)

    def forward(self, x):
        if self.pad is not None and any(self.pad):
            x = F.pad(x, self.pad)
        return self.conv(x)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3)


class Block(nn.Module):
    def __init__(self, cin, cout, stride, size, exact, act):
        super().__init__()
        self.conv1, self.bn1 = Conv(cin, cout, 3, stride, size, exact), bn(cout)
        out = math.ceil(size / stride)
        self.conv2, self.bn2 = Conv(cout, cout, 3, 1, out, exact), bn(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj, self.proj_bn = Conv(cin, cout, 1, stride, size, exact), bn(cout)
        self.act = act

    def forward(self, x):
        y = self.act(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.proj is None else self.proj_bn(self.proj(x))
        return self.act(y + s)


class Net(nn.Module):
    def __init__(self, spec, exact):
        super().__init__()
        arch = spec["architecture"]
        act = nn.SiLU() if arch["activation"] == "swish" else nn.ReLU()
        size, bands = spec["inputSize"], spec["bands"]
        stem = arch["stem"]
        self.stem_conv = Conv(bands, stem["channels"], 3, stem["stride"], size, exact)
        self.stem_bn = bn(stem["channels"])
        self.act = act
        size = math.ceil(size / stem["stride"])
        self.pool = stem["maxPool"]
        if self.pool:
            size //= 2
        blocks, names, c = [], [], stem["channels"]
        for si, st in enumerate(arch["stages"]):
            for b in range(st["blocks"]):
                stride = st["stride"] if b == 0 else 1
                blocks.append(Block(c, st["channels"], stride, size, exact, act))
                names.append(f"stage{si + 1}_block{b + 1}")
                size = math.ceil(size / stride)
                c = st["channels"]
        self.blocks = nn.ModuleList(blocks)
        self.block_names = names
        self.head = nn.Linear(c, spec["nAnswers"])
        self.dropout = arch["dropout"]

    def encode(self, x):
        x = self.act(self.stem_bn(self.stem_conv(x)))
        if self.pool:
            x = F.max_pool2d(x, 2)
        for b in self.blocks:
            x = b(x)
        return x.mean(dim=(2, 3))

    def concentrations(self, rep):
        return 1 + 100 * torch.sigmoid(self.head(rep))

    def forward(self, x, passes=1):
        rep = self.encode(x)
        if passes == 1:
            return self.concentrations(rep)
        keep = (torch.rand(passes, *rep.shape) >= self.dropout).to(rep.dtype) / (1 - self.dropout)
        return self.concentrations((keep * rep.unsqueeze(0)).reshape(-1, rep.shape[1]))


def load_weights(net, manifest, blob):
    """Copy tfjs weights (conv [kh, kw, cin, cout], BN gamma/beta/mean/var, dense [in, out])."""
    def arr(name):
        m = manifest[name]
        a = np.frombuffer(blob, dtype=np.float32, count=int(np.prod(m["shape"])), offset=m["offset"])
        return torch.from_numpy(a.reshape(m["shape"]).copy())

    def conv(mod, name):
        mod.conv.weight.data = arr(f"{name}/kernel").permute(3, 2, 0, 1).contiguous()

    def norm(mod, name):
        mod.weight.data, mod.bias.data = arr(f"{name}/gamma"), arr(f"{name}/beta")
        mod.running_mean.data, mod.running_var.data = arr(f"{name}/moving_mean"), arr(f"{name}/moving_variance")

    conv(net.stem_conv, "stem_conv")
    norm(net.stem_bn, "stem_bn")
    for name, b in zip(net.block_names, net.blocks):
        conv(b.conv1, f"{name}_conv1"); norm(b.bn1, f"{name}_bn1")
        conv(b.conv2, f"{name}_conv2"); norm(b.bn2, f"{name}_bn2")
        if b.proj is not None:
            conv(b.proj, f"{name}_proj"); norm(b.proj_bn, f"{name}_proj_bn")
    net.head.weight.data = arr("head_dense/kernel").t().contiguous()
    net.head.bias.data = arr("head_dense/bias")


def images_per_second(net, x, passes, rounds):
    with torch.no_grad():
        for _ in range(3):
            net(x, passes)
        best = math.inf
        for _ in range(rounds):
            t0 = time.perf_counter()
            net(x, passes)
            best = min(best, time.perf_counter() - t0)
    return x.shape[0] / best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--check", required=True, help="float32 prepared images NHWC then JS concentrations")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    spec = json.load(open(a.spec))
    manifest = spec["weights"]
    blob = open(a.weights, "rb").read()

    exact = Net(spec, exact=True).eval()
    load_weights(exact, manifest, blob)
    s, bands, n = spec["inputSize"], spec["bands"], spec["checkImages"]
    check = np.fromfile(a.check, dtype=np.float32)
    xs = torch.from_numpy(check[: n * s * s * bands].reshape(n, s, s, bands).copy()).permute(0, 3, 1, 2)
    js = check[n * s * s * bands:].reshape(n, -1)
    with torch.no_grad():
        pt = exact(xs).numpy()
    max_diff = float(np.abs(pt - js).max())

    net = Net(spec, exact=False).eval()
    load_weights(net, manifest, blob)
    net = net.to(memory_format=torch.channels_last)
    x = torch.randn(a.batch, bands, s, s).to(memory_format=torch.channels_last)
    result = {
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": a.batch,
        "max_abs_diff_concentrations_vs_galmorph": max_diff,
        "images_per_s_passes_1": images_per_second(net, x, 1, a.rounds),
        f"images_per_s_passes_{a.passes}": images_per_second(net, x, a.passes, a.rounds),
    }
    json.dump(result, open(a.out, "w"), indent=2)


if __name__ == "__main__":
    main()
