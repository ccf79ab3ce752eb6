#!/usr/bin/env python3
"""The stretch reference of issue 11: PyTorch's CIFAR ResNet-32 (shared/bench/torch_reference.py's model) trained
with torch.compile (Inductor, CPU), channels_last, 2 threads, batch 128, and compiled inference at batch 256.

Usage: python torch_compile.py [--reference ../shared/bench/torch_reference.py] [--steps 20]
Prints one JSON object (the last line). Compilation time is reported separately and not counted in the rates.
"""
import argparse, importlib.util, json, statistics, time

import torch
import torch.nn.functional as F


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reference", default="../shared/bench/torch_reference.py")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args()
    spec = importlib.util.spec_from_file_location("torch_reference", args.reference)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.set_num_threads(args.threads)
    result = {"torch": torch.__version__, "threads": args.threads, "batch": args.batch, "compile": "inductor",
              "cpu_capability": torch.backends.cpu.get_cpu_capability()}

    model = ref.ResNet().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, 3, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 100, (args.batch,))
    compiled = torch.compile(model)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(compiled(x), y).backward()
        opt.step()

    t = time.perf_counter()
    for _ in range(3):
        step()
    result["train_compile_seconds"] = round(time.perf_counter() - t, 1)
    rates = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(args.steps):
            step()
        rates.append(args.steps * args.batch / (time.perf_counter() - t))
    result["train_images_per_second_compiled"] = round(statistics.median(rates), 1)
    result["train_rounds"] = [round(r, 1) for r in rates]

    model.eval()
    xb = torch.randn(256, 3, 32, 32).to(memory_format=torch.channels_last)
    infer = torch.compile(model)
    with torch.no_grad():
        t = time.perf_counter()
        for _ in range(2):
            infer(xb)
        result["inference_compile_seconds"] = round(time.perf_counter() - t, 1)
        rates = []
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(args.steps):
                infer(xb)
            rates.append(args.steps * 256 / (time.perf_counter() - t))
    result["infer_images_per_second_compiled"] = round(statistics.median(rates), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
