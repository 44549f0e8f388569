#!/usr/bin/python3
"""Writes PyTorch reference conv gradients for src/engine/conv_backprop.test.ts.

    /usr/bin/python3 bench/engine/make_fixtures.py   (Debian python, where python3-torch lives)

Needs Debian's python3-torch (used for fixtures and benchmarks only, never by galmorph).
Each fixture holds x, filter, dy and torch's y, dx, dW for one conv, converted to tfjs's
layouts (NHWC activations, HWIO filters). TensorFlow's 'same' padding puts the odd extra
row/column at the bottom/right, which torch's symmetric `padding` cannot express, so x is
padded explicitly with F.pad before a padding-free conv.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'src', 'engine', 'fixtures')

# name, batch, height, width, in channels, out channels, kernel, stride, padding
CASES = [
    ('conv3x3_s1_same', 2, 6, 6, 3, 4, 3, 1, 'same'),
    ('conv3x3_s2_same_even', 2, 8, 8, 3, 4, 3, 2, 'same'),
    ('conv3x3_s2_same_odd', 2, 7, 5, 3, 4, 3, 2, 'same'),
    ('conv3x3_s2_valid', 2, 7, 8, 2, 3, 3, 2, 'valid'),
    ('conv1x1_s1_same', 2, 5, 5, 4, 6, 1, 1, 'same'),
    ('conv1x1_s2_same', 2, 6, 7, 4, 5, 1, 2, 'same'),
]


def tf_pads(size, k, s, padding):
    """(before, after) padding and output size of one axis as TensorFlow computes them."""
    if padding == 'valid':
        return 0, 0, (size - k) // s + 1
    out = math.ceil(size / s)
    total = max(0, (out - 1) * s + k - size)
    return total // 2, total - total // 2, out


def rounded(t):
    return [float(f'{v:.7g}') for v in t.reshape(-1).tolist()]


def entry(t):
    return {'shape': list(t.shape), 'data': rounded(t)}


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    for name, b, h, w, ci, co, k, s, padding in CASES:
        x = torch.randn(b, ci, h, w, generator=gen, dtype=torch.float64).float().requires_grad_()
        wt = (torch.randn(co, ci, k, k, generator=gen) * 0.5).requires_grad_()
        top, bottom, oh = tf_pads(h, k, s, padding)
        left, right, ow = tf_pads(w, k, s, padding)
        y = F.conv2d(F.pad(x, (left, right, top, bottom)), wt, stride=s)
        assert tuple(y.shape) == (b, co, oh, ow), (name, y.shape)
        dy = torch.randn(y.shape, generator=gen)
        y.backward(dy)
        fixture = {
            'name': name,
            'torch': torch.__version__,
            'stride': s,
            'pad': padding,
            'x': entry(x.detach().permute(0, 2, 3, 1)),  # NCHW -> NHWC
            'filter': entry(wt.detach().permute(2, 3, 1, 0)),  # OIHW -> HWIO
            'dy': entry(dy.permute(0, 2, 3, 1)),
            'y': entry(y.detach().permute(0, 2, 3, 1)),
            'dx': entry(x.grad.permute(0, 2, 3, 1)),
            'dfilter': entry(wt.grad.permute(2, 3, 1, 0)),
        }
        path = os.path.join(OUT, f'{name}.json')
        with open(path, 'w') as fh:
            json.dump(fixture, fh, separators=(',', ':'))
            fh.write('\n')
        print(f'{path}: {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    main()
