#!/usr/bin/python3
"""PyTorch side of bench/engine/network.ts: the same galmorph ResNet, timed at its best on CPU.

Reuses the network definition of bench/predict/torch_net.py (one replica of the architecture).
Times, per thread count: inference (eval mode, no_grad) and a training step (train mode:
forward, loss, backward over all parameters; no optimizer update, as on the galmorph side),
channels-last, after a warm-up, fastest of `rounds`; with 1 thread also the thread's CPU time
(robust to other load on a shared machine). Benchmark-only; never shipped.

    /usr/bin/python3 torch_train.py --spec spec.json --batch 32 --threads 1,2 --out result.json
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'predict'))
from torch_net import Net  # noqa: E402


def best_seconds(fn, warmup, rounds):
    """Fastest wall time and fastest CPU time of the calling thread (meaningful with 1 thread)."""
    for _ in range(warmup):
        fn()
    wall = cpu = math.inf
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.thread_time() - c0)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spec', required=True)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--rounds', type=int, default=8)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    s, bands = spec['inputSize'], spec['bands']
    torch.manual_seed(0)
    net = Net(spec, exact=False).to(memory_format=torch.channels_last)
    x = torch.randn(a.batch, bands, s, s).to(memory_format=torch.channels_last)

    def forward():
        with torch.no_grad():
            net(x)

    def train_step():
        for p in net.parameters():
            p.grad = None
        loss = torch.log(net(x)).mean()
        loss.backward()

    result = {'torch_version': torch.__version__, 'batch': a.batch, 'input': [s, s, bands], 'by_threads': {}}
    for threads in [int(t) for t in a.threads.split(',')]:
        torch.set_num_threads(threads)
        net.eval()
        fwd, fwd_cpu = best_seconds(forward, 3, a.rounds)
        net.train()
        train, train_cpu = best_seconds(train_step, 3, a.rounds)
        entry = {'forward_images_per_s': a.batch / fwd, 'train_images_per_s': a.batch / train}
        if threads == 1:
            entry.update({'forward_images_per_s_cpu': a.batch / fwd_cpu, 'train_images_per_s_cpu': a.batch / train_cpu})
        result['by_threads'][str(threads)] = entry
    json.dump(result, open(a.out, 'w'), indent=2)


if __name__ == '__main__':
    main()
