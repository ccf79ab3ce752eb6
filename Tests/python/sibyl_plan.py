#!/usr/bin/env python3
"""A second reader of Sibyl plans (schema 3), written from Plans/FORMAT.md alone: numpy and h5py.

    python sibyl_plan.py PLAN_DIR --data DIR [--split test] [--images N] [--out logits.npy] [--float-out f.npy]

Evaluates the plan's fixed-point program (plan.json "program", integers from weights.h5 /program) on
CIFAR-format images and writes each image's logits as int64 at the program's output scale: the integers
`sibyl test --plan PLAN_DIR --logits FILE` writes, which the secure protocol returns. With --float-out it
also evaluates the float model (graph, /float weights, activations) in float64.
"""
import argparse
import json
import os
import sys
import time

import h5py
import numpy as np

U64 = np.uint64
SUPPORTED_SCHEMA = 3


class PlanError(Exception):
    pass


# ---------------------------------------------------------------------------------------------- reading

class Plan:
    def __init__(self, directory):
        with open(os.path.join(directory, "plan.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        version = self.manifest.get("schema_version")
        if version != SUPPORTED_SCHEMA:
            raise PlanError(f"schema_version {version}: this reader reads schema {SUPPORTED_SCHEMA} only")
        self.program = self.manifest["program"]
        if (self.program["ring_bits"], self.program["encoding"], self.program["truncation"], self.program["layout"]) != \
                (64, "round_half_away_from_zero", "arithmetic_shift_floor", "CHW"):
            raise PlanError("unknown ring, encoding, truncation or layout")
        self.arrays = {}
        self.floats = {}
        with h5py.File(os.path.join(directory, "weights.h5"), "r") as h5:
            for step in self.program["steps"]:
                names = [t.get("weights") for t in step.get("terms", [])] + [step.get("bias"), step.get("coefficients")]
                for name in names:
                    if name is not None:
                        self.arrays[name] = np.asarray(h5[name], dtype=np.int64)
            for name, value in h5["float"].items():
                self.floats[name] = np.asarray(value, dtype=np.float64)
        self.input = self.manifest["input"]

    def shape(self, tensor):
        return tuple(self.program["tensors"][tensor]["shape"])


def load_cifar(data_dir, split, images):
    """Pixel bytes [N, 3, 32, 32] of a CIFAR-100 (or CIFAR-10) binary split."""
    for sub, name, label_bytes in [("cifar-100-binary", f"{split}.bin", 2), ("cifar-10-batches-bin", "test_batch.bin", 1)]:
        path = os.path.join(data_dir, sub, name)
        if os.path.exists(path):
            raw = np.fromfile(path, dtype=np.uint8)
            records = raw.reshape(-1, label_bytes + 3072)
            if images is not None:
                records = records[:images]
            return records[:, label_bytes:].reshape(-1, 3, 32, 32)
    raise PlanError(f"no CIFAR binary {split} split under {data_dir}")


def normalize(pixels, spec):
    """(byte / 255 - mean[c]) / std[c] in float32, one IEEE operation at a time (as FORMAT.md says)."""
    if spec["layout"] != "CHW" or spec["channel_order"] != "RGB":
        raise PlanError("input layout must be CHW, RGB")
    x = pixels.astype(np.float32)
    divisor = np.float32(spec["pixel_divisor"])
    mean = np.asarray(spec["mean"], dtype=np.float32)[None, :, None, None]
    std = np.asarray(spec["std"], dtype=np.float32)[None, :, None, None]
    return ((x / divisor) - mean) / std


def encode(x, scale):
    """round(x * 2^scale), ties away from zero, as two's-complement uint64 (x converted to float64 first)."""
    v = np.asarray(x, dtype=np.float64) * np.float64(2.0 ** scale)
    whole = np.trunc(v)
    frac = v - whole                       # exact
    whole = whole + np.sign(v) * (np.abs(frac) >= 0.5)
    return whole.astype(np.int64).view(U64)


# --------------------------------------------------------------------------------------- 128-bit helpers
# Polynomial coefficients are 128-bit; numpy has no 128-bit integers, so values are (high, low) uint64 pairs.

MASK32 = U64(0xFFFFFFFF)


def mul64_full(a, b):
    """a * b for uint64 arrays: the (high, low) uint64 halves of the 128-bit product."""
    a_lo, a_hi = a & MASK32, a >> U64(32)
    b_lo, b_hi = b & MASK32, b >> U64(32)
    ll = a_lo * b_lo
    lh = a_lo * b_hi
    hl = a_hi * b_lo
    hh = a_hi * b_hi
    middle = (ll >> U64(32)) + (lh & MASK32) + (hl & MASK32)
    low = (ll & MASK32) | (middle << U64(32))
    high = hh + (lh >> U64(32)) + (hl >> U64(32)) + (middle >> U64(32))
    return high, low


def mul128(ah, al, bh, bl):
    """(a * b) mod 2^128 for (high, low) pairs."""
    high, low = mul64_full(al, bl)
    high = high + ah * bl + al * bh
    return high, low


def add128(ah, al, bh, bl):
    low = al + bl
    carry = (low < al).astype(U64)
    return ah + bh + carry, low


def shift_right128_to64(high, low, shift):
    """(signed 128-bit value >> shift), arithmetic, reduced mod 2^64."""
    if shift >= 64:
        return (high.view(np.int64) >> np.int64(shift - 64)).view(U64) if shift < 128 else \
            (high.view(np.int64) >> np.int64(63)).view(U64)
    if shift == 0:
        return low
    return (low >> U64(shift)) | (high << U64(64 - shift))


# ----------------------------------------------------------------------------------- the fixed program

def as_signed(x):
    return x.view(np.int64)


def conv(x, w, stride, padding):
    """x [N, I, H, W] uint64, w [O, I, k, k] uint64 -> [N, O, Ho, Wo] mod 2^64."""
    n, i, h, wd = x.shape
    o, _, k, _ = w.shape
    ho = (h + 2 * padding - k) // stride + 1
    wo = (wd + 2 * padding - k) // stride + 1
    padded = np.zeros((n, i, h + 2 * padding, wd + 2 * padding), dtype=U64)
    padded[:, :, padding:padding + h, padding:padding + wd] = x
    out = np.zeros((n, o, ho * wo), dtype=U64)
    for ky in range(k):
        for kx in range(k):
            window = padded[:, :, ky:ky + stride * (ho - 1) + 1:stride, kx:kx + stride * (wo - 1) + 1:stride]
            out += np.matmul(w[:, :, ky, kx][None], window.reshape(n, i, ho * wo))
    return out.reshape(n, o, ho, wo)


def window_sum(x, k, stride):
    n, c, h, w = x.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, c, ho, wo), dtype=U64)
    for dy in range(k):
        for dx in range(k):
            out += x[:, :, dy:dy + stride * (ho - 1) + 1:stride, dx:dx + stride * (wo - 1) + 1:stride]
    return out


def run_program(plan, encoded):
    """Every step of the program on a batch of encoded inputs [N, C, H, W] uint64; returns the logits [N, classes]."""
    program = plan.program
    values = {0: encoded}
    n = encoded.shape[0]
    last_use = {}
    for index, step in enumerate(program["steps"]):
        reads = [t["input"] for t in step.get("terms", [])] + [step[k] for k in ("input", "a", "b") if k in step] + \
            [p["input"] for p in step.get("parts", [])]
        for tensor in reads:
            last_use[tensor] = index
    with np.errstate(over="ignore"):
        for index, step in enumerate(program["steps"]):
            out_shape = plan.shape(step["output"])
            op = step["op"]
            if op == "linear":
                y = np.zeros((n,) + out_shape, dtype=U64)
                for term in step["terms"]:
                    x = values[term["input"]]
                    kind = term["map"]
                    if kind == "conv":
                        y += conv(x, plan.arrays[term["weights"]].view(U64), term["stride"], term["padding"])
                    elif kind == "dense":
                        w = plan.arrays[term["weights"]].view(U64)
                        y += np.matmul(x.reshape(n, -1), w.T).reshape(y.shape)
                    elif kind == "diagonal":
                        y += x * plan.arrays[term["weights"]].view(U64)[None, :, None, None]
                    elif kind == "window_sum":
                        y += window_sum(x, term["kernel"], term["stride"])
                    else:
                        raise PlanError(f"step {index}: unknown map {kind}")
                if step.get("bias") is not None:
                    y += plan.arrays[step["bias"]].view(U64)[None, :, None, None]
            elif op == "add":
                y = (values[step["a"]] << U64(step["shift_a"])) + (values[step["b"]] << U64(step["shift_b"]))
            elif op == "truncate":
                y = (as_signed(values[step["input"]]) >> np.int64(step["bits"])).view(U64)
            elif op == "relu":
                unused = U64(64 - step["value_bits"])
                v = as_signed(values[step["input"]] << unused) >> np.int64(64 - step["value_bits"])
                y = np.where(v > 0, v >> np.int64(step["shift"]), 0).astype(np.int64).view(U64)
            elif op == "square":
                x = values[step["input"]]
                y = x * x
            elif op == "polynomial":
                x = values[step["input"]]
                halves = plan.arrays[step["coefficients"]].view(U64)       # [C, d + 1, 2]
                degree = step["degree"]
                xh = (as_signed(x) >> np.int64(63)).view(U64)              # sign extension to 128 bits
                xl = x
                ah = halves[None, :, degree, 0, None, None] + np.zeros_like(x)
                al = halves[None, :, degree, 1, None, None] + np.zeros_like(x)
                for k in range(degree - 1, -1, -1):                        # Horner, mod 2^128
                    ah, al = mul128(ah, al, xh, xl)
                    ah, al = add128(ah, al, halves[None, :, k, 0, None, None], halves[None, :, k, 1, None, None])
                y = shift_right128_to64(ah, al, step["shift"])
            elif op == "gather":
                y = values[step["input"]][:, step["channels"]]
            elif op == "scatter":
                y = np.zeros((n,) + out_shape, dtype=U64)
                for part in step["parts"]:
                    y[:, part["channels"]] = values[part["input"]]
            else:
                raise PlanError(f"step {index}: unknown op {op}")
            assert y.shape == (n,) + out_shape, (index, op, y.shape, out_shape)
            values[step["output"]] = y
            for tensor in [t for t, last in last_use.items() if last == index and t != program["output"]]:
                values.pop(tensor, None)
    return values[program["output"]].reshape(n, -1).view(np.int64)


def fixed_logits(plan, pixels, batch=50):
    scale = plan.program["tensors"][0]["scale"]
    rows = []
    for start in range(0, len(pixels), batch):
        encoded = encode(normalize(pixels[start:start + batch], plan.input), scale)
        rows.append(run_program(plan, encoded))
    return np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.int64)


# ----------------------------------------------------------------------------------------- float model

def float_logits(plan, pixels):
    """The float model (graph, /float weights, activation choices) in float64."""
    graph = plan.manifest["graph"]
    choices = plan.manifest["activations"]
    x0 = normalize(pixels, plan.input).astype(np.float64)
    values = []
    for node in graph:
        op = node["op"]
        ins = [values[i] for i in node["inputs"]]
        if op == "input":
            y = x0
        elif op == "conv":
            w = plan.floats[node["name"] + ".weight"]
            x = ins[0]
            n, i, h, wd = x.shape
            k, s, p = node["kernel"], node["stride"], node["padding"]
            ho, wo = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
            padded = np.zeros((n, i, h + 2 * p, wd + 2 * p))
            padded[:, :, p:p + h, p:p + wd] = x
            y = np.zeros((n, w.shape[0], ho * wo))
            for ky in range(k):
                for kx in range(k):
                    window = padded[:, :, ky:ky + s * (ho - 1) + 1:s, kx:kx + s * (wo - 1) + 1:s]
                    y += np.matmul(w[:, :, ky, kx][None], window.reshape(n, i, ho * wo))
            y = y.reshape(n, w.shape[0], ho, wo)
            if node["bias"]:
                y += plan.floats[node["name"] + ".bias"][None, :, None, None]
        elif op == "activation":
            choice = choices[node["slot"]]
            x = ins[0]
            relu = np.maximum(x, 0)
            if choice["kind"] == "relu":
                y = relu
            else:
                a = plan.floats[node["slot"] + ".coefficients"]               # [C, d + 1]
                poly = np.zeros_like(x)
                for k in range(a.shape[1] - 1, -1, -1):
                    poly = poly * x + a[None, :, k, None, None]
                if choice["kind"] == "polynomial":
                    y = poly
                else:
                    mask = np.zeros(x.shape[1], dtype=bool)
                    mask[choice["polynomial_channels"]] = True
                    y = np.where(mask[None, :, None, None], poly, relu)
        elif op == "add":
            y = ins[0] + ins[1]
        elif op == "average_pool":
            k, s = node["kernel"], node["stride"]
            n, c, h, w = ins[0].shape
            ho, wo = (h - k) // s + 1, (w - k) // s + 1
            y = np.zeros((n, c, ho, wo))
            for dy in range(k):
                for dx in range(k):
                    y += ins[0][:, :, dy:dy + s * (ho - 1) + 1:s, dx:dx + s * (wo - 1) + 1:s]
            y /= k * k
        elif op == "global_average_pool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "dense":
            w = plan.floats[node["name"] + ".weight"]
            y = ins[0].reshape(len(ins[0]), -1) @ w.T
            if node["bias"]:
                y = y + plan.floats[node["name"] + ".bias"]
            y = y.reshape(len(y), -1, 1, 1)
        else:
            raise PlanError(f"graph op {op} (plans hold folded graphs)")
        values.append(y)
    return values[-1].reshape(len(pixels), -1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan")
    parser.add_argument("--data", default="Datasets")
    parser.add_argument("--split", default="test", choices=["test", "train"])
    parser.add_argument("--images", type=int)
    parser.add_argument("--pixels", help="a .npy of pixel bytes, one image per row (C-H-W), instead of a CIFAR split")
    parser.add_argument("--out", help="write fixed-point logits (int64 .npy)")
    parser.add_argument("--float-out", help="write float logits (float64 .npy)")
    args = parser.parse_args(argv)
    try:
        plan = Plan(args.plan)
        if args.pixels:
            pixels = np.load(args.pixels).astype(np.uint8).reshape((-1,) + tuple(plan.input["shape"]))
        else:
            pixels = load_cifar(args.data, args.split, args.images)
        start = time.time()
        logits = fixed_logits(plan, pixels)
        seconds = time.time() - start
        scale = plan.program["tensors"][plan.program["output"]]["scale"]
        print(f"{len(pixels)} images, fixed-point logits at scale {scale}, {seconds:.1f} s ({len(pixels) / max(seconds, 1e-9):.1f} images/s)")
        if args.out:
            np.save(args.out, logits)
        if args.float_out:
            np.save(args.float_out, float_logits(plan, pixels))
    except (PlanError, OSError, KeyError) as error:
        print(f"sibyl_plan.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
