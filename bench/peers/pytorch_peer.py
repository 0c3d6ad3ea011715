"""The PyTorch peer of `npm run bench` (bench/peers/pytorch.ts starts it).

Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"cmd": "hello", "threads": n}                -> {"version", "threads", "blas", "mkldnn"}
  {"cmd": "prepare", "kind", "params", "inputs"} -> {"ok": true}   (inputs: name -> [file, dtype])
  {"cmd": "run"}                                 -> {"ok": true}   (the timed call)
  {"cmd": "check"}                               -> {"check": mean |output| or the loss}
Errors answer {"error": "..."}. Inputs arrive as raw little-endian files written by the
Node side, in our layouts (NCHW images, OIHW filters, row-major matrices).
"""
import json
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load(inputs, name):
    path, dtype = inputs[name]
    return torch.from_numpy(np.fromfile(path, dtype=np.float32 if dtype == "float32" else np.int32).copy())


def matmul(p, inp):
    n = p["n"]
    a, b = load(inp, "a").reshape(n, n), load(inp, "b").reshape(n, n)
    out = {}

    def run():
        out["y"] = torch.mm(a, b)

    return run, lambda: out["y"].abs().mean().item()


def conv_arrays(p, inp):
    x = load(inp, "x").reshape(p["n"], p["cin"], p["h"], p["w"])
    w = load(inp, "w").reshape(p["cout"], p["cin"], p["k"], p["k"])
    g = load(inp, "g").reshape(p["n"], p["cout"], p["h"], p["w"])
    return x, w, g


def conv(p, inp):
    x, w, _ = conv_arrays(p, inp)
    out = {}

    def run():
        with torch.no_grad():
            out["y"] = F.conv2d(x, w, padding=p["k"] // 2)

    return run, lambda: out["y"].abs().mean().item()


def conv_grad(p, inp):
    x, w, g = conv_arrays(p, inp)
    x.requires_grad_(True)
    w.requires_grad_(True)

    def run():
        x.grad = None
        w.grad = None
        (F.conv2d(x, w, padding=p["k"] // 2) * g).sum().backward()

    return run, lambda: w.grad.abs().mean().item()


def chain(p, inp):
    x = load(inp, "x")
    out = {}

    def run():
        with torch.no_grad():
            out["y"] = torch.tanh(x * 1.5 + 0.25) * torch.sigmoid(x) - 0.5

    return run, lambda: out["y"].abs().mean().item()


def grid_sample(p, inp):
    x = load(inp, "x").reshape(p["n"], p["c"], p["h"], p["w"])
    grid = load(inp, "grid").reshape(p["n"], p["h"], p["w"], 2)
    out = {}

    def run():
        with torch.no_grad():
            out["y"] = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)

    return run, lambda: out["y"].abs().mean().item()


def grid_sample_grad(p, inp):
    x = load(inp, "x").reshape(p["n"], p["c"], p["h"], p["w"]).requires_grad_(True)
    grid = load(inp, "grid").reshape(p["n"], p["h"], p["w"], 2).requires_grad_(True)
    g = load(inp, "g").reshape(p["n"], p["c"], p["h"], p["w"])

    def run():
        x.grad = None
        grid.grad = None
        F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True).backward(g)

    return run, lambda: grid.grad.abs().mean().item()


def adam(p, inp):
    """torch.optim.Adam's step (its defaults) over leaves of the given sizes, gradients fixed."""
    params = [t.clone().requires_grad_(True) for t in load(inp, "p").split(p["sizes"])]
    for t, g in zip(params, load(inp, "g").split(p["sizes"])):
        t.grad = g.clone()
    opt = torch.optim.Adam(params, lr=p["lr"])

    def run():
        opt.step()

    return run, lambda: sum(t.detach().abs().sum().item() for t in params) / p["total"]


def copy(p, inp):
    x = load(inp, "x")
    out = {}

    def run():
        out["y"] = x.clone()

    return run, lambda: out["y"].abs().mean().item()


def pool_grad(pool2d):
    def prepare(p, inp):
        x = load(inp, "x").reshape(p["n"], p["c"], p["h"], p["w"]).requires_grad_(True)
        g = load(inp, "g").reshape(p["n"], p["c"], p["h"] // 2, p["w"] // 2)

        def run():
            x.grad = None
            (pool2d(x, 2) * g).sum().backward()

        return run, lambda: x.grad.abs().mean().item()

    return prepare


def batch_norm(p, inp):
    shape = (p["n"], p["c"], p["h"], p["w"])
    x = load(inp, "x").reshape(shape).requires_grad_(True)
    g = load(inp, "g").reshape(shape)
    bn = nn.BatchNorm2d(p["c"]).train()

    def run():
        x.grad = None
        (F.relu(bn(x)) * g).sum().backward()

    return run, lambda: x.grad.abs().mean().item()


class SmallConv(nn.Module):
    """smallConv of the Augerino code (dropout off): conv-bn-relu k, k, 2k, pool, 2k, pool, 2k, global average, linear."""

    def __init__(self, k, in_channels, classes):
        super().__init__()
        widths = [in_channels, k, k, 2 * k, 2 * k, 2 * k]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 3, padding=1), nn.BatchNorm2d(widths[i + 1]), nn.ReLU()) for i in range(5)
        )
        self.head = nn.Linear(2 * k, classes)

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in (2, 3):
                x = F.max_pool2d(x, 2)
        return self.head(x.mean(dim=(2, 3)))


class UniformAug(nn.Module):
    """The reference UniformAug: coefficients u * width - width / 2 on six generators, expm, affine_grid, grid_sample."""

    def __init__(self, init_raw, trans_scale=0.1):
        super().__init__()
        self.width = nn.Parameter(torch.tensor(init_raw, dtype=torch.float32))
        t = trans_scale
        self.register_buffer("gens", torch.tensor([
            [[0, 0, t], [0, 0, 0], [0, 0, 0]],
            [[0, 0, 0], [0, 0, t], [0, 0, 0]],
            [[0, -1, 0], [1, 0, 0], [0, 0, 0]],
            [[1, 0, 0], [0, 1, 0], [0, 0, 0]],
            [[1, 0, 0], [0, -1, 0], [0, 0, 0]],
            [[0, 1, 0], [1, 0, 0], [0, 0, 0]],
        ], dtype=torch.float32))

    def forward(self, x):
        width = F.softplus(self.width)
        weights = torch.rand(x.shape[0], 6) * width - width / 2
        mats = torch.matrix_exp(torch.einsum("bi,ijk->bjk", weights, self.gens))
        grid = F.affine_grid(mats[:, :2, :], list(x.shape), align_corners=True)
        return F.grid_sample(x, grid, align_corners=True)


def train(p, inp):
    torch.manual_seed(0)
    x = load(inp, "x").reshape(p["batch"], 1, p["h"], p["w"])
    y = load(inp, "y").long()
    model = SmallConv(p["k"], 1, p["classes"])
    aug = UniformAug(p["thetaInit"])
    model.train()
    # Two parameter groups, as the reference's train scripts build them (weight decay 0 here, as in ours).
    opt = torch.optim.Adam([{"params": model.parameters(), "weight_decay": 0.0}, {"params": aug.parameters(), "weight_decay": 0.0}], lr=p["lr"])
    out = {}

    def run():
        opt.zero_grad()
        # The reference loops over the copies; each copy is its own batch (batch norm statistics per copy).
        loss = sum(F.cross_entropy(model(aug(x)), y) for _ in range(p["copies"])) / p["copies"]
        loss = loss - p["lambda"] * F.softplus(aug.width).norm()
        loss.backward()
        opt.step()
        out["loss"] = loss.item()

    return run, lambda: out["loss"]


KINDS = {"matmul": matmul, "conv": conv, "convGrad": conv_grad, "chain": chain, "gridSample": grid_sample, "gridSampleGrad": grid_sample_grad, "adam": adam, "train": train, "copy": copy, "maxPool": pool_grad(F.max_pool2d), "avgPool": pool_grad(F.avg_pool2d), "batchNorm": batch_norm}


def main():
    run = check = None
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg["cmd"] == "hello":
                torch.set_num_threads(msg["threads"])
                found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
                blas = f"BLAS_INFO={found.group(1) if found else 'unknown'}"
                reply = {"version": torch.__version__, "threads": torch.get_num_threads(), "blas": blas, "mkldnn": torch.backends.mkldnn.is_available()}
            elif msg["cmd"] == "prepare":
                run, check = KINDS[msg["kind"]](msg["params"], msg["inputs"])
                reply = {"ok": True}
            elif msg["cmd"] == "run":
                run()
                reply = {"ok": True}
            elif msg["cmd"] == "check":
                reply = {"check": check()}
            else:
                reply = {"error": f"unknown command {msg['cmd']}"}
        except Exception as e:  # the Node side prints the reason in the table
            reply = {"error": f"{type(e).__name__}: {e}".splitlines()[0]}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
