#!/usr/bin/env bash
# Sibyl's training engine and PyTorch's CPU reference, in one run on the same machine (issue 11):
#   sibyl bench train (direct kernels), PyTorch (NCHW and channels_last), sibyl bench train again,
#   sibyl bench train --kernels portable (the im2col + OpenBLAS path, for the record),
# then one JSON object with every figure, the ratios (best Sibyl run / PyTorch) and the kernels each ran.
# Usage: side-by-side.sh --sibyl PATH --out FILE [--torch-python PATH] [--reference PATH]
# PyTorch comes from `make torch` (.venv-torch); without it, only Sibyl's figures are written and the script
# says how to get the rest. Run it on a quiet machine: pause long runs first (kill -STOP) and say so.
set -euo pipefail
SIBYL=.build/release/sibyl; OUT=Experiments/bench/side-by-side.json
TORCH_PYTHON=.venv-torch/bin/python; REFERENCE=../shared/bench/torch_reference.py
while [ $# -gt 0 ]; do
  case "$1" in
    --sibyl) SIBYL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --torch-python) TORCH_PYTHON=$2; shift 2 ;;
    --reference) REFERENCE=$2; shift 2 ;;
    *) echo "side-by-side.sh: unknown argument $1 (see the comment at the top of the script)" >&2; exit 2 ;;
  esac
done
[ -x "$SIBYL" ] || { echo "side-by-side.sh: no sibyl binary at $SIBYL (run make build)" >&2; exit 1; }
unset OPENBLAS_CORETYPE
TMP=$(mktemp -d -t sibyl-bench.XXXXXX); trap 'rm -rf "$TMP"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }

echo "load average before: $(load)"
"$SIBYL" bench train --model resnet32 --batch-size 128 --json > "$TMP/sibyl1.json"; echo "load $(load)" > "$TMP/load1"
cat "$TMP/sibyl1.json"
HAVE_TORCH=0
if [ -f "$REFERENCE" ] && "$TORCH_PYTHON" -c "import torch" 2>/dev/null; then
  HAVE_TORCH=1
  "$TORCH_PYTHON" "$REFERENCE" speed --threads 2 --batch 128 | tail -1 > "$TMP/torch.json"; echo "load $(load)" > "$TMP/load2"
  "$TORCH_PYTHON" -c 'import json, torch; print(json.dumps({"cpu_capability": torch.backends.cpu.get_cpu_capability(),
    "mkldnn": torch.backends.mkldnn.is_available(), "threads": torch.get_num_threads()}))' > "$TMP/torch-kernels.json"
  cat "$TMP/torch.json"
  "$TORCH_PYTHON" "$(dirname "$0")/torch_compile.py" --reference "$REFERENCE" | tail -1 > "$TMP/torch-compile.json"
  cat "$TMP/torch-compile.json"
else
  echo "side-by-side.sh: no PyTorch (looked for $REFERENCE and torch in $TORCH_PYTHON): run 'make torch' for the comparison" >&2
fi
"$SIBYL" bench train --model resnet32 --batch-size 128 --json > "$TMP/sibyl2.json"; echo "load $(load)" > "$TMP/load3"
cat "$TMP/sibyl2.json"
"$SIBYL" bench train --model resnet32 --batch-size 128 --kernels portable --json > "$TMP/gemm.json"
cat "$TMP/gemm.json"

python3 - "$TMP" "$OUT" "$HAVE_TORCH" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'PY'
import json, sys, time, os
tmp, out, have_torch, commit = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
read = lambda name: json.load(open(os.path.join(tmp, name)))
runs = [read("sibyl1.json"), read("sibyl2.json")]
best = max(runs, key=lambda r: r["images_per_second"])
best_inf = max(r["inference_images_per_second"] for r in runs)
result = {
    "measured": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), "commit": commit,
    "commands": ["sibyl bench train --model resnet32 --batch-size 128 --json (before and after PyTorch)",
                 "python torch_reference.py speed --threads 2 --batch 128",
                 "python Experiments/bench/torch_compile.py (torch.compile, channels_last)",
                 "sibyl bench train --model resnet32 --batch-size 128 --kernels portable --json"],
    "sibyl_runs": runs, "sibyl_gemm_path": read("gemm.json"),
    "sibyl_best": {"images_per_second": best["images_per_second"], "inference_images_per_second": best_inf,
                   "conv_kernels": best.get("conv_kernels"), "blas_core": best.get("blas_core")},
}
if have_torch:
    t = read("torch.json")
    result["torch"] = t
    result["torch_kernels"] = read("torch-kernels.json")
    result["ratios"] = {
        "train_vs_nchw": round(best["images_per_second"] / t["train_images_per_second_nchw"], 3),
        "train_vs_channels_last": round(best["images_per_second"] / t["train_images_per_second_channels_last"], 3),
        "inference_vs_nchw": round(best_inf / t["infer_images_per_second_nchw"], 3),
        "inference_vs_channels_last": round(best_inf / t["infer_images_per_second_channels_last"], 3),
    }
    c = read("torch-compile.json")
    result["torch_compile"] = c
    result["ratios"]["train_vs_compiled"] = round(best["images_per_second"] / c["train_images_per_second_compiled"], 3)
    result["ratios"]["inference_vs_compiled"] = round(best_inf / c["infer_images_per_second_compiled"], 3)
json.dump(result, open(out, "w"), indent=2, sort_keys=True)
print(json.dumps(result.get("ratios", {"note": "no PyTorch figures"})))
PY
echo "written: $OUT"
