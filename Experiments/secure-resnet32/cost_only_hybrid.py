#!/usr/bin/env python3
"""Turns an exported all-ReLU ResNet-32 plan into a COST-ONLY hybrid plan: Delphi's most aggressive
placement (5 ReLU slots, 53,248 ReLUs; 26 slots quadratic) with Delphi's fixed 0.2 + 0.5x + 0.2x^2 as
coefficients, for measuring protocol costs before a trained hybrid exists. Its accuracy means nothing.

Usage: python3 cost_only_hybrid.py PLAN_DIR   (edits PLAN_DIR in place; needs h5py and numpy)
"""
import json, sys
import h5py, numpy as np

plan_dir = sys.argv[1]
keep = {"stem.act", "stage1.block0.act1", "stage2.block0.act1", "stage2.block0.act2", "stage3.block4.act2"}
channels = {"stem": 16, "stage1": 16, "stage2": 32, "stage3": 64}
plan = json.load(open(f"{plan_dir}/plan.json"))
plan["name"] = "resnet32-delphi-placement-cost-only"
plan["accuracy"] = []
f = plan["fixed_point"]["fractional_bits"]
scales = [2 * f, f, f]
with h5py.File(f"{plan_dir}/weights.h5", "a") as weights:
    weights.attrs["plan"] = plan["name"]
    for slot in plan["activations"]:
        if slot in keep:
            continue
        plan["activations"][slot] = {"polynomial": {"degree": 2}}
        coefficients = np.tile(np.array([0.2, 0.5, 0.2], dtype=np.float32), (channels[slot.split(".")[0]], 1))
        weights.create_dataset(f"float/{slot}.coefficients", data=coefficients)
        fixed = np.stack([np.round(coefficients[:, j].astype(np.float64) * 2 ** scales[j]) for j in range(3)], axis=1)
        weights.create_dataset(f"fixed/{slot}.coefficients", data=fixed.astype(np.int64)).attrs["scale"] = ",".join(map(str, scales))
json.dump(plan, open(f"{plan_dir}/plan.json", "w"), indent=2)
